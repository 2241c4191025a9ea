// When an htmx request fails, say so in the page and leave the page (and what was typed) as it
// is: htmx does not swap 4xx/5xx responses (see the htmx-config meta tag), 422 excepted.
(() => {
  function messages() {
    return document.getElementById("messages");
  }

  function show(parts) {
    const box = messages();
    if (!box) return;
    const p = document.createElement("p");
    p.className = "message error";
    p.setAttribute("role", "alert");
    for (const part of parts) {
      if (typeof part === "string") {
        p.append(part);
      } else {
        const a = document.createElement("a");
        a.href = part.href;
        a.textContent = part.text;
        if (part.newTab) {
          a.target = "_blank";
          a.rel = "noopener";
        }
        p.append(a);
      }
    }
    box.replaceChildren(p);
    box.scrollIntoView({ block: "nearest" });
  }

  const kept = " What you typed is still here.";

  document.addEventListener("htmx:responseError", (event) => {
    const xhr = event.detail.xhr;
    const status = xhr.status;
    if (status === 401) {
      const login = xhr.getResponseHeader("X-Login-URL") || "/accounts/login/";
      show([
        "Your session has ended. ",
        { href: login, text: "Log in again", newTab: true },
        " (in a new tab), then try once more." + kept,
      ]);
    } else if (status === 403) {
      show(["Your role in this study does not allow this." + kept]);
    } else if (status === 404) {
      show(["This no longer exists: it may have been deleted. Reload the page to see what is there now."]);
    } else if (status === 409) {
      const text = (xhr.responseText || "").trim();
      show([(text.length < 300 && !text.startsWith("<") ? text + " " : "Someone else changed this first. ") + "Reload the page to see their change."]);
    } else if (status === 413) {
      show(["This is too large to send." + kept]);
    } else if (status === 429) {
      show(["Too many attempts: wait a moment and try again." + kept]);
    } else {
      show([`The server could not do this (error ${status}). Try again in a moment.` + kept]);
    }
  });

  document.addEventListener("htmx:sendError", () => {
    show(["No connection to the server: check your network and try again." + kept]);
  });

  document.addEventListener("htmx:timeout", () => {
    show(["The server took too long to answer. Try again in a moment." + kept]);
  });
})();
