// The review page: one keystroke per decision, j/k between units, and a selection in the source
// text becomes the span of a consensus coding (offsets.js does the counting).
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const offsets = window.TrustCoderOffsets;

  function typing(target) {
    return target instanceof HTMLElement && (target.isContentEditable || target.tagName === "TEXTAREA"
      || target.tagName === "SELECT" || (target.tagName === "INPUT" && !["button", "submit", "hidden", "checkbox", "radio"].includes(target.type)));
  }

  function takeSelection() {
    const root = $("review-text");
    const form = $("custom-form");
    if (!root || !form) return;
    const span = offsets.selectedSpan(root, root.dataset.snap === "1");
    if (!span) return;
    const [start, end] = span;
    const quote = offsets.quote(root, start, end);
    $("custom-start").value = String(start);
    $("custom-end").value = String(end);
    $("custom-quote").value = quote;
    $("custom-preview").textContent = `“${quote.length > 160 ? quote.slice(0, 157) + "…" : quote}” [${start}:${end}]`;
    form.closest("details").open = true;
  }

  document.addEventListener("mouseup", (event) => {
    const root = $("review-text");
    if (root && root.contains(event.target)) takeSelection();
  });

  document.addEventListener("keydown", (event) => {
    if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    let target = null;
    if (/^[0-9]$/.test(key)) target = document.querySelector(`[data-accept="${key}"]`);
    else if (key === "j" || key === "ArrowRight") target = $("next-unit");
    else if (key === "k" || key === "ArrowLeft") target = $("prev-unit");
    else if (key === "r") target = $("reopen");
    else if (key === "c") {
      const form = $("custom-form");
      if (form) {
        form.closest("details").open = true;
        form.querySelector("select").focus();
        event.preventDefault();
      }
      return;
    }
    if (target) {
      event.preventDefault();
      target.click();
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    const disputed = document.querySelector("#review-text .disputed");
    if (disputed) disputed.scrollIntoView({ block: "center" });
  });
})();
