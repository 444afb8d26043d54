// Long work shows progress (issue 13, item 12). No inline script or style (CSP), no dependency.
//
// <a href="…pdf" data-progress="Đang tạo PDF…">: the click fetches the file with the page's cookies, shows a
// spinner with the text and the seconds elapsed until the file arrives, then hands it to the browser as a
// download under the server's file name. A refusal or an HTML answer (a login page, an error page) is shown
// as the browser would have shown it: the link is followed normally.
// <form data-progress="Đang nhập…">: on submit, the spinner stays until the next page arrives, and the
// submit buttons are disabled so the file is not sent twice.
(function () {
  "use strict";
  var box = null, label = null, clock = null, timer = null, started = 0;

  function show(text) {
    if (!box) {
      box = document.createElement("div");
      box.className = "hf-progress";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      box.setAttribute("data-testid", "progress");
      var spin = document.createElement("span");
      spin.className = "hf-spinner";
      spin.setAttribute("aria-hidden", "true");
      label = document.createElement("span");
      clock = document.createElement("span");
      clock.className = "hf-progress-clock";
      box.appendChild(spin);
      box.appendChild(label);
      box.appendChild(clock);
      document.body.appendChild(box);
    }
    label.textContent = text;
    clock.textContent = "";
    box.hidden = false;
    document.documentElement.classList.add("hf-busy");
    started = Date.now();
    clearInterval(timer);
    timer = setInterval(function () {
      var s = Math.floor((Date.now() - started) / 1000);
      clock.textContent = s >= 1 ? " " + s + " s" : "";
    }, 500);
  }

  function hide() {
    clearInterval(timer);
    if (box) box.hidden = true;
    document.documentElement.classList.remove("hf-busy");
  }

  function filename(response, href) {
    var cd = response.headers.get("Content-Disposition") || "";
    var star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
    if (star) return decodeURIComponent(star[1]);
    var plain = /filename="?([^";]+)"?/i.exec(cd);
    if (plain) return plain[1];
    return href.split("?")[0].split("/").filter(Boolean).pop() || "download";
  }

  function download(link) {
    var href = link.href;
    if (link.getAttribute("aria-busy") === "true") return;
    link.setAttribute("aria-busy", "true");
    show(link.getAttribute("data-progress"));
    fetch(href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        var attached = /attachment/i.test(response.headers.get("Content-Disposition") || "");
        if (!response.ok || (!attached && type.indexOf("text/html") === 0)) throw new Error("not a file");
        return response.blob().then(function (blob) {
          var url = URL.createObjectURL(blob);
          var a = document.createElement("a");
          a.href = url;
          a.download = filename(response, href);
          a.hidden = true;
          document.body.appendChild(a);
          a.click();
          a.remove();
          setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
          link.setAttribute("data-progress-done", String(Date.now()));
          hide();
        });
      })
      .catch(function () {
        hide();
        window.location.href = href; // the browser shows the refusal, the login page or the error page
      })
      .finally(function () { link.removeAttribute("aria-busy"); });
  }

  document.addEventListener("click", function (ev) {
    var link = ev.target.closest && ev.target.closest("a[data-progress]");
    if (!link || ev.defaultPrevented || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
    if (!window.fetch || !window.URL || !URL.createObjectURL) return; // plain link: the browser's own progress
    ev.preventDefault();
    download(link);
  });

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.matches || !form.matches("form[data-progress]") || ev.defaultPrevented) return;
    show(form.getAttribute("data-progress"));
    setTimeout(function () { // after the browser has read the form: disabled buttons would not be sent
      form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });

  // Back/forward cache: a page restored after a download or import must not keep a spinner.
  window.addEventListener("pageshow", function () {
    hide();
    document.querySelectorAll("form[data-progress] [type=submit]").forEach(function (b) { b.disabled = false; });
  });
})();
