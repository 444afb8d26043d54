"""What every headframe command-line program shares (the `headframe` CLI, `headframe ingest`, the simulator)."""

import argparse
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """argparse prints usage and the error on two lines; a script wants one clear line."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
