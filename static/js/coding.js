// The coding page: fills the coding form from a text selection (offsets.js turns it into
// code-point offsets and snaps it to words) and drives the keyboard.
(function () {
  "use strict";

  const offsets = window.TrustCoderOffsets; // static/js/offsets.js
  let sentenceCursor = -1;
  let sentenceAnchor = -1;

  const $ = (id) => document.getElementById(id);
  const textRoot = () => $("text");
  const form = () => $("coding-form");

  function selectedSpan() {
    const root = textRoot();
    return root ? offsets.selectedSpan(root, root.dataset.snap === "1") : null;
  }

  function setPending(span) {
    const f = form();
    if (!f) return;
    const preview = $("selection-preview");
    if (!span) {
      $("id_start").value = "";
      $("id_end").value = "";
      $("id_quote").value = "";
      preview.textContent = "Select a passage in the text (mouse, or j/k for sentences).";
      preview.classList.remove("ready");
      return;
    }
    const [start, end] = span;
    const quote = offsets.quote(textRoot(), start, end);
    $("id_start").value = String(start);
    $("id_end").value = String(end);
    $("id_quote").value = quote;
    preview.textContent = `“${quote.length > 160 ? quote.slice(0, 157) + "…" : quote}” [${start}:${end}]`;
    preview.classList.add("ready");
  }

  function refreshSelection() {
    if (textRoot() && textRoot().dataset.canCode === "1") setPending(selectedSpan());
  }

  // Sentence selection from the keyboard -----------------------------------------------------
  function sentenceRuns(index) {
    return textRoot().querySelectorAll(`[data-s="${index}"]`);
  }

  function lastSentence() {
    const runs = textRoot().querySelectorAll("[data-s]");
    return runs.length ? Number(runs[runs.length - 1].dataset.s) : -1;
  }

  function selectSentences(from, to) {
    const a = Math.min(from, to);
    const b = Math.max(from, to);
    const first = sentenceRuns(a)[0];
    const lastRuns = sentenceRuns(b);
    const last = lastRuns[lastRuns.length - 1];
    if (!first || !last) return;
    const range = document.createRange();
    range.setStart(first, 0);
    range.setEnd(last, last.childNodes.length);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    first.scrollIntoView({ block: "nearest" });
    refreshSelection();
  }

  function moveSentence(step, extend) {
    const max = lastSentence();
    if (max < 0) return;
    const next = Math.min(max, Math.max(0, sentenceCursor + step));
    if (!extend || sentenceAnchor < 0) sentenceAnchor = next;
    sentenceCursor = next;
    selectSentences(sentenceAnchor, sentenceCursor);
  }

  // Form helpers -----------------------------------------------------------------------------
  function chooseCode(key) {
    const input = form() && form().querySelector(`input[name="code"][data-key="${CSS.escape(key)}"]`);
    if (!input) return false;
    input.checked = true;
    updateStanceLabels();
    return true;
  }

  function updateStanceLabels() {
    const f = form();
    const code = f && f.querySelector('input[name="code"]:checked');
    if (!code) return;
    f.querySelector('[data-stance-label="for"]').textContent = code.dataset.forLabel;
    f.querySelector('[data-stance-label="against"]').textContent = code.dataset.againstLabel;
  }

  function setStance(value) {
    const input = form() && form().querySelector(`input[name="stance"][value="${value}"]`);
    if (input) input.checked = true;
  }

  function cycleSelect(select) {
    if (!select || select.options.length === 0) return;
    select.selectedIndex = (select.selectedIndex + 1) % select.options.length;
    select.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function saveCoding() {
    const f = form();
    if (!f) return;
    if (!$("id_start").value) {
      $("selection-preview").textContent = "Select a passage first.";
      return;
    }
    if (!f.querySelector('input[name="code"]:checked')) {
      $("selection-preview").textContent = "Choose a code (its key or a click) first.";
      return;
    }
    performance.mark("coding-save-start");
    f.requestSubmit();
  }

  // Tooltips listing the codings on a highlight ------------------------------------------------
  function showTip(run) {
    const tip = $("hl-tip");
    if (!tip) return;
    const lines = (run.dataset.c || "").split(" ").map((id) => {
      const item = $(`coding-${id}`);
      return item ? item.dataset.summary : "";
    }).filter(Boolean);
    if (!lines.length) return;
    tip.replaceChildren(...lines.map((line) => {
      const div = document.createElement("div");
      div.textContent = line;
      return div;
    }));
    const box = run.getBoundingClientRect();
    tip.style.left = `${Math.round(window.scrollX + box.left)}px`;
    tip.style.top = `${Math.round(window.scrollY + box.bottom + 4)}px`;
    tip.hidden = false;
  }

  function hideTip() {
    const tip = $("hl-tip");
    if (tip) tip.hidden = true;
  }

  function focusCodings(run) {
    document.querySelectorAll(".coding-item.focus").forEach((el) => el.classList.remove("focus"));
    const ids = (run.dataset.c || "").split(" ").filter(Boolean);
    ids.forEach((id, i) => {
      const item = $(`coding-${id}`);
      if (!item) return;
      item.classList.add("focus");
      if (i === 0) item.scrollIntoView({ block: "nearest" });
    });
  }

  // Events -----------------------------------------------------------------------------------
  // Keys pressed in a field that takes text belong to it. A radio button or checkbox takes none:
  // after a code is chosen with the mouse, the shortcuts must keep working.
  function typing(target) {
    if (!(target instanceof HTMLElement)) return false;
    if (target.isContentEditable || ["TEXTAREA", "SELECT"].includes(target.tagName)) return true;
    return target.tagName === "INPUT" && !["radio", "checkbox"].includes(target.type);
  }

  // Enter on a link, button or summary activates it, as on every other page.
  function activates(target) {
    return target instanceof Element && target.closest("a[href], button, summary") !== null;
  }

  document.addEventListener("mouseup", (event) => {
    if (textRoot() && textRoot().contains(event.target)) refreshSelection();
  });

  document.addEventListener("selectionchange", () => {
    const selection = window.getSelection();
    if (textRoot() && selection && !selection.isCollapsed && textRoot().contains(selection.anchorNode)) refreshSelection();
  });

  document.addEventListener("click", (event) => {
    const help = event.target.closest("[data-action=help]");
    if (help) $("help-dialog").showModal();
    // The list's Edit links load their form in place (delegated: see highlight.py).
    const edit = event.target.closest("#coding-list .edit-link");
    if (edit && window.htmx) {
      event.preventDefault();
      const slot = edit.parentElement.querySelector(".edit-slot");
      window.htmx.ajax("GET", edit.getAttribute("href"), { target: slot, swap: "innerHTML" });
    }
    const run = event.target.closest("#text .hl");
    if (run && window.getSelection().isCollapsed) focusCodings(run);
  });

  document.addEventListener("mouseover", (event) => {
    const run = event.target.closest && event.target.closest("#text .hl");
    if (run) showTip(run);
    else hideTip();
  });

  document.addEventListener("change", (event) => {
    if (event.target.name === "code" && event.target.closest("#coding-form")) updateStanceLabels();
  });

  document.addEventListener("keydown", (event) => {
    if (!textRoot()) return;
    // While the shortcut help is open, keys belong to it (Escape closes it natively).
    const help = $("help-dialog");
    if (help && help.open) return;
    if (event.key === "Escape") {
      if (typing(event.target)) event.target.blur();
      window.getSelection().removeAllRanges();
      setPending(null);
      hideTip();
      return;
    }
    if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
    const canCode = textRoot().dataset.canCode === "1";
    const key = event.key;
    let handled = true;
    if (key === "?") $("help-dialog").showModal();
    else if (key === "j" || key === "J") moveSentence(1, key === "J");
    else if (key === "k" || key === "K") moveSentence(-1, key === "K");
    else if (!canCode) handled = false;
    else if (key === "Enter") {
      if (activates(event.target)) handled = false;
      else saveCoding();
    } else if (key === "f") setStance("for");
    else if (key === "a") setStance("against");
    else if (key === "p") cycleSelect($("c-party"));
    else if (key === "s") cycleSelect($("c-strength"));
    else if (key === "m") $("c-memo").focus();
    else if (key === "u") {
      const undo = $("undo-form");
      if (undo) undo.requestSubmit();
    } else handled = chooseCode(key);
    if (handled) event.preventDefault();
  });

  // A save without a selection or code never reaches the server.
  document.addEventListener("submit", (event) => {
    if (event.target.id === "coding-form" && !$("id_start").value) {
      event.preventDefault();
      event.stopPropagation();
      $("selection-preview").textContent = "Select a passage first.";
    }
  }, true);

  // The list's Delete forms post through htmx (delegated: see highlight.py).
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.classList || !form.classList.contains("delete-form") || !window.htmx) return;
    event.preventDefault();
    window.htmx.ajax("POST", form.getAttribute("action"), {
      source: form,
      target: "#text-region",
      swap: "outerHTML",
    });
  });

  // A refused save comes back as 422 with the workspace and the reason in it. htmx 2 swaps no
  // 4xx response by default, which would leave the coder with no message at all.
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const detail = event.detail;
    if (detail && detail.xhr && detail.xhr.status === 422 && detail.target && detail.target.id === "text-region") {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });

  // A saved coding arrives at the end of the list: move it to its place by start offset.
  function placeNewestCoding() {
    const list = $("codings");
    if (!list) return;
    const items = list.querySelectorAll("li.coding-item");
    if (items.length) list.querySelectorAll("li.empty").forEach((li) => li.remove());
    const newest = items[items.length - 1];
    if (!newest) return;
    const start = Number(newest.dataset.start);
    let before = newest.previousElementSibling;
    while (before && before.classList.contains("coding-item") && Number(before.dataset.start) > start) {
      before = before.previousElementSibling;
    }
    const next = before ? before.nextElementSibling : list.firstElementChild;
    if (next !== newest) list.insertBefore(newest, next);
  }

  document.body.addEventListener("htmx:afterSettle", (event) => {
    if (!event.detail || !event.detail.target || event.detail.target.id !== "text-region") return;
    placeNewestCoding();
    window.getSelection().removeAllRanges();
    setPending(null);
    // The memo belongs to the coding just saved; a refused save keeps it for the next try.
    const memo = $("c-memo");
    const xhr = event.detail.xhr;
    if (memo && (!xhr || xhr.status < 400)) memo.value = "";
    performance.mark("coding-save-shown");
    document.dispatchEvent(new CustomEvent("trustcoder:text-updated"));
  });

  document.addEventListener("DOMContentLoaded", () => {
    if (textRoot()) performance.mark("coding-ready");
  });
})();
