// packages.html: live search, platform and license filters, copy buttons. The page is complete
// without this script; it only enhances. Embedded at build time (cmake/MipEmbedText.cmake) and
// allowed by the page's Content-Security-Policy through its sha256. It reads the page's own DOM
// only: no network, no storage, no eval. Work is deferred until needed, so a 2,000-package page
// is interactive at once: the search text is gathered on the first search, copy buttons are
// added to a package when it scrolls into view.
(function () {
  "use strict";
  var byId = function (id) { return document.getElementById(id); };
  var controls = byId("_controls");
  var query = byId("_q");
  var platform = byId("_platform");
  var license = byId("_license");
  var shown = byId("_shown");
  if (!controls || !query || !platform || !license || !shown) {
    return;
  }
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.pkg"));
  var packages = null;

  // One entry per package: what the search matches (name, description, symbols or paths,
  // dependencies), the platforms that get a build, the license.
  function index() {
    if (packages === null) {
      packages = sections.map(function (el) {
        var words = [el.getAttribute("data-name") || ""];
        el.querySelectorAll(".desc, .symbols, .deps").forEach(function (part) {
          words.push(part.textContent);
        });
        return {
          el: el,
          text: words.join(" ").toLowerCase(),
          platforms: (el.getAttribute("data-platforms") || "").split(" "),
          license: el.getAttribute("data-license") || ""
        };
      });
    }
    return packages;
  }

  function count(n) {
    shown.textContent = n === sections.length
      ? sections.length + (sections.length === 1 ? " package" : " packages")
      : n + " of " + sections.length + " packages shown";
  }

  function apply() {
    var terms = query.value.toLowerCase().split(/\s+/).filter(Boolean);
    var wantPlatform = platform.value;
    var wantLicense = license.value;
    var n = 0;
    index().forEach(function (p) {
      var visible = terms.every(function (t) { return p.text.indexOf(t) !== -1; }) &&
        (!wantPlatform || p.platforms.indexOf(wantPlatform) !== -1) &&
        (!wantLicense || p.license === wantLicense);
      if (p.el.hidden === visible) {
        p.el.hidden = !visible;
      }
      if (visible) {
        n += 1;
      }
    });
    count(n);
  }

  query.addEventListener("input", apply);
  platform.addEventListener("change", apply);
  license.addEventListener("change", apply);
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "/" && document.activeElement !== query) {
      ev.preventDefault();
      query.focus();
    }
  });

  // Copy buttons after copyable values (install lines, hashes).
  function copied(button) {
    button.textContent = "copied";
    button.classList.add("done");
  }
  function fallbackCopy(button) {
    var range = document.createRange();
    range.selectNodeContents(button.previousElementSibling);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    if (document.execCommand("copy")) {
      copied(button);
    }
  }
  function copy(button) {
    var text = button.previousElementSibling.textContent;
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { copied(button); },
                                               function () { fallbackCopy(button); });
    } else {
      fallbackCopy(button);
    }
  }
  function addButtons(root) {
    root.querySelectorAll("code.cp").forEach(function (code) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "copy";
      button.textContent = "copy";
      button.setAttribute("aria-label", "copy " + code.textContent);
      code.after(button);
    });
  }
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest("button.copy") : null;
    if (button && button.previousElementSibling) {
      copy(button);
    }
  });
  if ("IntersectionObserver" in window) {
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) {
          observer.unobserve(entry.target);
          addButtons(entry.target);
        }
      });
    }, { rootMargin: "600px 0px" });
    sections.forEach(function (el) { observer.observe(el); });
  } else {
    addButtons(document);
  }

  controls.hidden = false;
  count(sections.length);
}());
