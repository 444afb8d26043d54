from headframe.cli import main

raise SystemExit(main())
