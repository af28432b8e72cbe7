/* Shieldwall's own script: what htmx (vendored beside it) does not do for us. Every page works
   without it; it only saves reloads and shows progress. No inline script: the CSP allows only
   files from this server.

   1. An upload form with data-progress (the share page's file) is sent by XMLHttpRequest:
      the bytes are counted as they leave, then the server's progress lines (web/upload.py:
      one JSON object a line, the last one the outcome) fill the progress bar and its text.
   2. htmx answers that came back from another page than this one (the session ended and the
      server sent the sign-in page) load that page instead of being swapped into this one.
   3. A refusal htmx does not swap (403, 409, 422, a server error, no answer at all) is said
      in words in the element the form's data-status names, never silently dropped. */
(function () {
  "use strict";

  function megabytes(bytes) {
    return (bytes / 1048576).toFixed(1);
  }

  function pageText(html) {
    /* The words of an error page (its h1 and message), never its markup. */
    var doc = new DOMParser().parseFromString(html, "text/html");
    var main = doc.querySelector("main");
    var parts = main ? main.querySelectorAll("h1, p:not(.page-tlp)") : [];
    return Array.prototype.map.call(parts, function (e) { return e.textContent.trim(); })
      .filter(Boolean).join(": ");
  }

  /* 1. Uploads with progress. */
  function fieldError(form, message) {
    var input = form.querySelector("[name=" + form.dataset.field + "]");
    var id = form.dataset.field + "-error";
    var shown = document.getElementById(id);
    if (!message) {
      if (shown) { shown.remove(); }
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
      return;
    }
    if (!shown) {
      shown = document.createElement("p");
      shown.className = "field-error";
      shown.id = id;
      input.parentNode.after(shown);
    }
    shown.textContent = message;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id);
    input.focus();
  }

  function upload(form) {
    var box = document.getElementById(form.dataset.progress);
    var bar = box.querySelector("progress");
    var text = box.querySelector("[role=status]");
    var done = document.getElementById(form.dataset.done);
    var button = form.querySelector("button[type=submit], button:not([type])");
    var read = 0;  // objects the server read in its first pass
    var consumed = 0;  // characters of the answer already handled
    var outcome = null;

    function show(value, max, words) {
      if (value === null) { bar.removeAttribute("value"); } else { bar.max = max; bar.value = value; }
      text.textContent = words;
    }

    function step(line) {
      var s = JSON.parse(line);
      if (s.outcome) { outcome = s; return; }
      if (s.phase === "read") {
        read = s.objects;
        show(null, 0, "Reading the file: " + s.objects + " objects so far");
      } else if (s.phase === "stored") {
        show(s.objects, Math.max(read, s.objects, 1), "Checking and storing: " + s.objects + " of " + read + " objects");
      } else if (s.phase === "working") {
        show(null, 0, "Converting and storing: " + s.seconds + " s so far");
      } else {
        show(null, 0, "Received; the import starts");
      }
    }

    function lines(final) {
      var answer = xhr.responseText;
      var end = final ? answer.length : answer.lastIndexOf("\n") + 1;
      answer.slice(consumed, end).split("\n").forEach(function (line) {
        if (line.trim()) { step(line); }
      });
      consumed = Math.max(consumed, end);
    }

    function finish(message, stored) {
      box.hidden = true;
      button.disabled = false;
      if (stored) {
        done.textContent = message;
        fieldError(form, "");
        var input = form.querySelector("[name=" + form.dataset.field + "]");
        input.value = "";
        input.focus();
      } else {
        done.textContent = "";
        fieldError(form, message);
      }
    }

    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/x-ndjson");
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) {
        show(e.loaded, e.total, "Uploading: " + megabytes(e.loaded) + " of " + megabytes(e.total) + " MB");
      }
    };
    xhr.onprogress = function () {
      if ((xhr.getResponseHeader("content-type") || "").indexOf("ndjson") >= 0) { lines(false); }
    };
    xhr.onload = function () {
      var type = xhr.getResponseHeader("content-type") || "";
      if (new URL(xhr.responseURL).pathname !== new URL(form.action).pathname) {
        window.location.assign(xhr.responseURL);  // signed out meanwhile: the sign-in page
        return;
      }
      if (type.indexOf("ndjson") < 0) {
        finish(pageText(xhr.responseText) || "The upload was refused (" + xhr.status + ").", false);
        return;
      }
      lines(true);
      if (outcome) {
        finish(outcome.message, outcome.outcome === "stored");
      } else {
        finish("The answer ended before the import did: look for the objects before trying again.", false);
      }
    };
    xhr.onerror = function () {
      finish("The server could not be reached; nothing was sent, or nothing is known of it.", false);
    };
    box.hidden = false;
    button.disabled = true;
    show(0, 1, "Uploading");
    xhr.send(new FormData(form));
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-progress]") || !window.FormData) { return; }
    event.preventDefault();
    upload(form);
  });

  /* 2 and 3. htmx answers. */
  function statusOf(elt) {
    var holder = elt.closest("[data-status]");
    return holder ? document.getElementById(holder.dataset.status) : null;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (!event.detail.shouldSwap || xhr.status >= 400 || !xhr.responseURL) { return; }
    var answered = new URL(xhr.responseURL);
    if (answered.pathname !== window.location.pathname) {
      event.detail.shouldSwap = false;
      window.location.assign(answered.href);
    }
  });

  function refused(event, words) {
    var status = statusOf(event.detail.elt);
    if (status) { status.textContent = words; }
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    refused(event, "Not done: " + (pageText(xhr.responseText) || "the server answered " + xhr.status));
  });
  document.addEventListener("htmx:sendError", function (event) {
    refused(event, "Not done: the server could not be reached.");
  });
}());
