// The coding page: fills the coding form from a text selection (offsets.js turns it into
// code-point offsets and snaps it to words) and drives the keyboard. The codings arrive as
// compact data (#codings-data, then one coding per save in an htmx event) and are painted with
// the CSS Custom Highlight API: one Highlight per code and stance, no element per coding. The
// list beside the text is built from the same data: a screenful at once, the rest in idle time.
(function () {
  "use strict";

  const offsets = window.TrustCoderOffsets; // static/js/offsets.js
  const stripes = window.TrustCoderStripes; // static/js/stripes.js
  document.documentElement.classList.add("js-coding");
  let sentenceCursor = -1;
  let sentenceAnchor = -1;

  const $ = (id) => document.getElementById(id);
  const textRoot = () => $("text");
  const form = () => $("coding-form");

  // Positions in a compact coding row (highlight.py: COMPACT_FIELDS).
  const ID = 0, START = 1, END = 2, CODE = 3, STANCE = 4, PARTY = 5, STRENGTH = 6, CODER = 7, MEMO = 8;
  const STRENGTHS = {
    straw_in_the_wind: "Straw in the wind",
    hoop: "Hoop",
    smoking_gun: "Smoking gun",
    doubly_decisive: "Doubly decisive",
  };
  const painting = typeof CSS !== "undefined" && "highlights" in CSS && typeof Highlight === "function";

  let data = null; // {codings: [...rows sorted by start, end, id], codes, coders, me, canCode, showCoder}
  const rangeOf = new Map(); // coding id -> its Range
  let built = 0; // how many rows of data.codings have their list item
  let chosenId = null; // the coding whose span Shift+Alt+arrows change
  let chosenSpan = null; // its new span while the change is on its way: [start, end]
  let drawn = { columns: [], width: 0 }; // the stripes as laid out last (for hit-testing)
  let boxes = []; // every coding's vertical extent in the text, as drawn last
  // The page's shortcut keys come from the server (coding/shortcuts.py), like the codebook form's
  // refusal of a code key that one of them takes.
  const KEYS = (() => {
    const script = document.getElementById("shortcuts-data");
    return script ? JSON.parse(script.textContent) : {};
  })();

  function readData() {
    const script = $("codings-data");
    data = script ? JSON.parse(script.textContent) : null;
  }

  function order(a, b) {
    return a[START] - b[START] || a[END] - b[END] || a[ID] - b[ID];
  }

  function insertionIndex(row) {
    let lo = 0;
    let hi = data.codings.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (order(data.codings[mid], row) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // Painting -----------------------------------------------------------------------------------
  function highlightName(row) {
    return `c${row[CODE]}-${row[STANCE] === "against" ? "against" : "for"}`;
  }

  function paint(row) {
    const range = offsets.range(textRoot(), row[START], row[END]);
    rangeOf.set(row[ID], range);
    if (!painting) return;
    const name = highlightName(row);
    let highlight = CSS.highlights.get(name);
    if (!highlight) {
      highlight = new Highlight();
      CSS.highlights.set(name, highlight);
    }
    highlight.add(range);
  }

  function unpaint(id) {
    const range = rangeOf.get(id);
    rangeOf.delete(id);
    if (!range || !painting) return;
    for (const highlight of CSS.highlights.values()) highlight.delete(range);
  }

  function paintAll() {
    rangeOf.clear();
    if (painting) CSS.highlights.clear();
    for (const row of data.codings) paint(row);
    paintChosen();
    drawSoon();
  }

  // Stripes and overview ------------------------------------------------------------------------
  // Positions come from the painted ranges (Range.getBoundingClientRect: one box from the first
  // line's top to the last line's bottom), measured against the text, and are measured again
  // whenever the text's size changes.
  function columnOrder(a, b) {
    const coders = Object.keys(data.coders);
    const codes = Object.keys(data.codes);
    return (
      coders.indexOf(String(a.coder)) - coders.indexOf(String(b.coder)) ||
      codes.indexOf(String(a.code)) - codes.indexOf(String(b.code))
    );
  }

  // Short labels for the coders' stripe groups: the shortest beginnings of their names that
  // tell them apart (cora, cody: COR, COD).
  function initialsOf(coders) {
    const ids = Object.keys(coders);
    const names = ids.map((id) => String(coders[id]));
    const longest = Math.max(2, ...names.map((name) => name.length));
    for (let n = 2; n <= longest; n++) {
      const labels = names.map((name) => name.slice(0, n).toUpperCase());
      if (new Set(labels).size === labels.length || n === longest) {
        return Object.fromEntries(ids.map((id, i) => [id, labels[i]]));
      }
    }
    return {};
  }

  // One coding's vertical extent against the stripes' top. Codings of the same span (a sentence
  // coded by several coders, or with several codes) share one measurement.
  function box(row, base, measured) {
    const span = `${row[START]}:${row[END]}`;
    let rect = measured.get(span);
    if (rect === undefined) {
      const range = rangeOf.get(row[ID]);
      if (!range) return null;
      rect = range.getBoundingClientRect();
      measured.set(span, rect);
    }
    if (!rect.height) return null;
    return {
      row,
      key: data.showCoder ? `${row[CODER]}:${row[CODE]}` : String(row[CODE]),
      code: row[CODE],
      coder: data.showCoder ? row[CODER] : 0,
      against: row[STANCE] === "against",
      top: rect.top - base,
      bottom: rect.bottom - base,
    };
  }

  // Measuring costs most (a range's box is some tens of microseconds, after one layout). It runs
  // in one pass: slices interleaved with the list's building would each pay a fresh layout of the
  // whole page (measured: 2.5 s instead of 0.1 s at 2,000 codings).
  const SLICE = 100_000;
  let drawing = 0;
  function drawStripes() {
    const svg = $("stripes");
    if (!svg || !data || !stripes) return;
    const run = ++drawing;
    const rows = data.codings;
    const measured = [];
    const spans = new Map(); // "start:end" -> its box, this pass
    let next = 0;
    performance.mark("coding-stripes-start");
    const slice = () => {
      if (run !== drawing) return;
      const base = svg.getBoundingClientRect().top;
      const stop = Math.min(rows.length, next + SLICE);
      for (; next < stop; next++) {
        const found = box(rows[next], base, spans);
        if (found) measured.push(found);
      }
      if (next < rows.length) {
        setTimeout(slice, 0);
        return;
      }
      boxes = measured;
      drawn = stripes.layout(boxes, columnOrder);
      const initials = data.showCoder ? initialsOf(data.coders) : null;
      stripes.drawStripes(svg, drawn, textRoot().getBoundingClientRect().height, initials, chosenId);
      drawOverview();
      performance.measure("coding-stripes", "coding-stripes-start");
      document.dispatchEvent(new CustomEvent("trustcoder:stripes-drawn"));
    };
    slice();
  }

  function drawOverview() {
    const bar = $("overview");
    if (!bar || !data || !stripes) return;
    const text = textRoot().getBoundingClientRect();
    const view = { top: -text.top, height: window.innerHeight };
    stripes.drawOverview(bar, boxes, text.height, bar.getBoundingClientRect().height || window.innerHeight, view);
  }

  let drawQueued = false;
  function drawSoon() {
    if (drawQueued) return;
    drawQueued = true;
    requestAnimationFrame(() => {
      drawQueued = false;
      drawStripes();
    });
  }

  let overviewQueued = false;
  function overviewSoon() {
    if (overviewQueued) return;
    overviewQueued = true;
    requestAnimationFrame(() => {
      overviewQueued = false;
      drawOverview();
    });
  }

  // The stripe list: what a click on a stripe shows.
  function hideStripeList() {
    const box = $("stripe-list");
    if (box) box.hidden = true;
  }

  function showStripeList(rows, x, y) {
    const box = $("stripe-list");
    if (!box || !rows.length) {
      hideStripeList();
      return;
    }
    const list = element("ul");
    for (const row of rows) {
      const item = element("li");
      const button = element("button", "link", `${summary(row)}: “${short(offsets.quote(textRoot(), row[START], row[END]), 80)}”`);
      button.type = "button";
      button.dataset.coding = String(row[ID]);
      item.append(button);
      list.append(item);
    }
    box.replaceChildren(element("strong", "", `${rows.length} coding${rows.length === 1 ? "" : "s"}`), list);
    box.style.left = `${Math.round(window.scrollX + x + 8)}px`;
    box.style.top = `${Math.round(window.scrollY + y)}px`;
    box.hidden = false;
  }

  // The chosen coding ------------------------------------------------------------------------
  function rowOf(id) {
    return data ? data.codings.find((row) => row[ID] === id) || null : null;
  }

  function paintChosen() {
    placeHandles();
    if (!painting) return;
    CSS.highlights.delete("coding-chosen");
    const row = chosenId === null ? null : rowOf(chosenId);
    if (!row) return;
    const [start, end] = chosenSpan || [row[START], row[END]];
    const highlight = new Highlight(offsets.range(textRoot(), start, end));
    highlight.priority = 1;
    CSS.highlights.set("coding-chosen", highlight);
  }

  function choose(row) {
    const id = row && data.canCode && row[CODER] === data.me ? row[ID] : null;
    if (id === chosenId) return;
    chosenId = id;
    chosenSpan = null;
    const root = textRoot();
    if (root) root.dataset.chosen = id === null ? "" : String(id);
    paintChosen();
    // The outline moves; nothing needs measuring again.
    const svg = $("stripes");
    if (svg && stripes && drawn.columns.length) {
      const initials = data.showCoder ? initialsOf(data.coders) : null;
      stripes.drawStripes(svg, drawn, textRoot().getBoundingClientRect().height, initials, chosenId);
    }
  }

  // Shift+Alt+arrows: the end a word later / earlier, the start a word earlier / later. Each step
  // is shown at once; the change is sent once the keys rest, through the coding's edit URL, and
  // checked there like a new coding.
  let spanTimer = 0;
  function adjustChosen(key) {
    const row = rowOf(chosenId);
    if (!row) return;
    const root = textRoot();
    let [start, end] = chosenSpan || [row[START], row[END]];
    if (key === "ArrowRight") end = offsets.wordStep(root, end, 1);
    else if (key === "ArrowLeft") end = offsets.wordStep(root, end, -1);
    else if (key === "ArrowUp") start = offsets.wordStep(root, start, -1);
    else if (key === "ArrowDown") start = offsets.wordStep(root, start, 1);
    [start, end] = offsets.trimSpan(root, start, end);
    if (start >= end) return;
    chosenSpan = [start, end];
    paintChosen();
    note(`[${start}:${end}] …`, offsets.range(root, start, end));
    clearTimeout(spanTimer);
    spanTimer = setTimeout(sendSpan, 350);
  }

  // Drag handles at the chosen coding's start and end: the page's two buttons #span-start and
  // #span-end, outside the text, placed over it from the first and last characters' boxes (the
  // text's DOM is never touched). A drag snaps to whole words as the keys do and is shown at once
  // through chosenSpan; the release sends the span the way the keys do (sendSpan), so the server
  // checks it like a new coding. A drag that would leave nothing, or cross the other end, stops
  // where the span was last whole.
  let dragging = null; // {end: true for the end handle, pointerId, point: [x, y] waiting for a frame}
  const handle = (end) => $(end ? "span-end" : "span-start");

  function placeHandle(grip, box, x) {
    grip.style.left = `${Math.round(window.scrollX + x)}px`;
    grip.style.top = `${Math.round(window.scrollY + box.top)}px`;
    grip.style.height = `${Math.max(8, Math.round(box.bottom - box.top))}px`;
    grip.hidden = false;
  }

  function placeHandles() {
    const first = handle(false);
    const last = handle(true);
    if (!first || !last) return;
    const row = chosenId === null ? null : rowOf(chosenId);
    if (!row) {
      first.hidden = true;
      last.hidden = true;
      return;
    }
    const root = textRoot();
    const [start, end] = chosenSpan || [row[START], row[END]];
    const a = offsets.range(root, start, start + 1).getClientRects();
    const b = offsets.range(root, end - 1, end).getClientRects();
    if (!a.length || !b.length) return;
    placeHandle(first, a[0], a[0].left);
    placeHandle(last, b[b.length - 1], b[b.length - 1].right);
  }

  // The caret position under a point of the text, as a code-point offset (or null).
  function caretAt(x, y) {
    const root = textRoot();
    let node = null;
    let index = 0;
    if (document.caretPositionFromPoint) {
      const position = document.caretPositionFromPoint(x, y);
      if (position) [node, index] = [position.offsetNode, position.offset];
    } else if (document.caretRangeFromPoint) {
      const range = document.caretRangeFromPoint(x, y);
      if (range) [node, index] = [range.startContainer, range.startOffset];
    }
    if (!node || !root.contains(node)) return null;
    return offsets.pointToOffset(root, node, index);
  }

  function dragTo(x, y) {
    const row = rowOf(chosenId);
    const offset = row ? caretAt(x, y) : null;
    if (offset === null) return;
    const root = textRoot();
    let [start, end] = chosenSpan || [row[START], row[END]];
    // The word around the caret: a handle dropped inside a word takes all of it.
    const [wordStart, wordEnd] = offsets.wordSpan(root, offset, offset);
    if (dragging.end) end = wordEnd;
    else start = wordStart;
    [start, end] = offsets.trimSpan(root, start, end);
    if (start >= end) return;
    const [shownStart, shownEnd] = chosenSpan || [row[START], row[END]];
    if (start === shownStart && end === shownEnd) return;
    chosenSpan = [start, end];
    paintChosen();
    note(`[${start}:${end}] …`, offsets.range(root, start, end));
  }

  function endDrag(send) {
    const grip = handle(dragging.end);
    if (grip) grip.classList.remove("dragging");
    document.documentElement.classList.remove("dragging-span");
    dragging = null;
    const row = rowOf(chosenId);
    const changed = row && chosenSpan && (chosenSpan[0] !== row[START] || chosenSpan[1] !== row[END]);
    if (send && changed) {
      sendSpan();
      return;
    }
    if (!send) chosenSpan = null;
    paintChosen();
  }

  document.addEventListener("pointerdown", (event) => {
    const grip = event.target instanceof Element && event.target.closest(".span-handle");
    if (!grip || chosenId === null || event.button !== 0 || dragging) return;
    // No text selection, and no mouse events for the selection's handlers.
    event.preventDefault();
    grip.focus({ preventScroll: true });
    clearTimeout(spanTimer);
    dragging = { end: grip.id === "span-end", pointerId: event.pointerId, point: null };
    // The handle lets the pointer through while it moves, so the text under it is hit-tested.
    grip.classList.add("dragging");
    document.documentElement.classList.add("dragging-span");
  });

  document.addEventListener("pointermove", (event) => {
    if (!dragging || event.pointerId !== dragging.pointerId) return;
    event.preventDefault();
    // One hit test per frame, however fast the pointer moves.
    const waiting = dragging.point !== null;
    dragging.point = [event.clientX, event.clientY];
    if (waiting) return;
    requestAnimationFrame(() => {
      if (!dragging || !dragging.point) return;
      const [x, y] = dragging.point;
      dragging.point = null;
      dragTo(x, y);
    });
  });

  document.addEventListener("pointerup", (event) => {
    if (!dragging || event.pointerId !== dragging.pointerId) return;
    dragging.point = null;
    dragTo(event.clientX, event.clientY);
    endDrag(true);
  });

  document.addEventListener("pointercancel", (event) => {
    if (dragging && event.pointerId === dragging.pointerId) endDrag(false);
  });

  function partyId(code) {
    const option = Array.from(($("c-party") || { options: [] }).options).find((o) => o.dataset.party === code);
    return option ? option.value : "";
  }

  let spanForm = null;
  function sendSpan() {
    const row = rowOf(chosenId);
    if (!row || !chosenSpan || !window.htmx) return;
    if (!spanForm) {
      spanForm = element("form", "edit-form span-form");
      spanForm.hidden = true;
      document.body.append(spanForm);
    }
    const [start, end] = chosenSpan;
    window.htmx.ajax("POST", textRoot().dataset.editUrl.replace("{id}", row[ID]), {
      source: spanForm,
      swap: "none",
      values: {
        code: row[CODE],
        stance: row[STANCE],
        demonstrating_party: partyId(row[PARTY]),
        strength: row[STRENGTH] || "",
        memo: row[MEMO] || "",
        start,
        end,
        quote: offsets.quote(textRoot(), start, end),
      },
    });
  }

  // Feedback near the passage: floats over the page, so nothing moves.
  let noteTimer = 0;
  function note(text, range, refused = false) {
    const box = $("save-note");
    if (!box) return;
    const rects = range ? range.getClientRects() : [];
    const last = rects.length ? rects[rects.length - 1] : null;
    const anchor = last || ($("selection-preview") || textRoot()).getBoundingClientRect();
    box.textContent = text;
    box.classList.toggle("refused", refused);
    box.style.left = `${Math.round(window.scrollX + anchor.left)}px`;
    box.style.top = `${Math.round(window.scrollY + anchor.bottom + 4)}px`;
    box.hidden = false;
    clearTimeout(noteTimer);
    noteTimer = setTimeout(() => {
      box.hidden = true;
    }, 2500);
  }

  // The codings list ---------------------------------------------------------------------------
  let token = null; // read once: every list item's Delete form carries it
  function csrfToken() {
    if (token === null) {
      try {
        token = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
      } catch (error) {
        token = "";
      }
    }
    return token;
  }

  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function short(text, limit = 240) {
    return text.length <= limit ? text : text.slice(0, limit - 1) + "…";
  }

  function summary(row) {
    const parts = [data.codes[row[CODE]], row[STANCE], row[PARTY], STRENGTHS[row[STRENGTH]] || "", data.coders[row[CODER]]];
    return parts.filter(Boolean).join(" · ");
  }

  function listItem(row) {
    const li = element("li", `coding-item code-${row[CODE]}`);
    li.id = `coding-${row[ID]}`;
    li.dataset.summary = summary(row);
    li.dataset.start = String(row[START]);
    const line = element("div", "coding-line");
    const swatch = element("span", "swatch");
    swatch.setAttribute("aria-hidden", "true");
    const mark = row[STANCE] === "for" ? "+" : "\u2212"; // a minus sign, not a hyphen
    line.append(
      swatch, " ", element("strong", "", data.codes[row[CODE]]), " ",
      element("span", `stance-mark stance-${row[STANCE]}`, `${mark} ${row[STANCE]}`), " ",
      element("span", "party", row[PARTY]),
    );
    if (STRENGTHS[row[STRENGTH]]) line.append(" ", element("span", "badge", STRENGTHS[row[STRENGTH]]));
    if (data.showCoder) line.append(" ", element("span", "muted", data.coders[row[CODER]]));
    li.append(line, element("blockquote", "", short(offsets.quote(textRoot(), row[START], row[END]))));
    if (row[MEMO]) li.append(element("p", "memo", row[MEMO]));
    if (data.canCode && row[CODER] === data.me) {
      const root = textRoot();
      const edit = element("a", "edit-link", "Edit");
      edit.href = root.dataset.editUrl.replace("{id}", row[ID]);
      const del = element("form", "inline delete-form");
      del.method = "post";
      del.action = root.dataset.deleteUrl.replace("{id}", row[ID]);
      const token = element("input");
      token.type = "hidden";
      token.name = "csrfmiddlewaretoken";
      token.value = csrfToken();
      const button = element("button", "link danger", "Delete");
      button.type = "submit";
      del.append(token, button);
      li.append(edit, element("div", "edit-slot"), del);
    }
    return li;
  }

  function updateCount() {
    const count = $("codings-count");
    if (count) count.textContent = `(${data.codings.length})`;
    const list = $("codings");
    const empty = list && list.querySelector("li.empty");
    if (data.codings.length && empty) empty.remove();
    if (list && !data.codings.length && !empty) list.append(element("li", "empty", "No codings in this layer yet."));
  }

  // Build the list from row `built` on.
  function buildSome(limit) {
    const list = $("codings");
    if (!list) return;
    const stop = Math.min(data.codings.length, built + limit);
    const chunk = document.createDocumentFragment();
    for (; built < stop; built++) chunk.append(listItem(data.codings[built]));
    list.append(chunk);
  }

  // The list is built as it is read: a few screenfuls at first, more whenever it is scrolled
  // near its end, and up to a coding that a click in the text or on a stripe asks for. Building
  // all of it in chunks after the page loaded cost most of the page's work at 2,000 codings
  // (1.8 s of main-thread time after DOM interactive, 0.4 s now; mostly the text's highlights
  // painted again after each chunk changed the page), for items few readers scroll to.
  const FIRST_ITEMS = 30;
  const MORE_ITEMS = 40;
  function buildList() {
    const list = $("codings");
    if (!list) return;
    list.replaceChildren();
    built = 0;
    updateCount();
    buildSome(FIRST_ITEMS);
    buildMoreSoon();
  }

  let moreQueued = false;
  function buildMoreSoon() {
    if (moreQueued || !data || built >= data.codings.length) return;
    moreQueued = true;
    requestAnimationFrame(() => {
      moreQueued = false;
      const box = $("coding-list");
      if (!box || box.scrollTop + 3 * box.clientHeight < box.scrollHeight) return;
      buildSome(MORE_ITEMS);
      buildMoreSoon();
    });
  }

  function buildUpTo(rows) {
    const last = Math.max(...rows.map((row) => data.codings.indexOf(row)));
    if (last >= built) buildSome(last + 1 - built + MORE_ITEMS);
  }

  function addCoding(row) {
    const index = insertionIndex(row);
    data.codings.splice(index, 0, row);
    paint(row);
    if (index < built) {
      const list = $("codings");
      const next = $(`coding-${data.codings[index + 1][ID]}`);
      list.insertBefore(listItem(row), next);
      built++;
    } else if (built === index) {
      buildSome(1);
    }
    updateCount();
    drawSoon();
  }

  function removeCoding(id) {
    const index = data.codings.findIndex((row) => row[ID] === id);
    if (index < 0) return;
    data.codings.splice(index, 1);
    unpaint(id);
    const item = $(`coding-${id}`);
    if (item) {
      item.remove();
      built--;
    }
    updateCount();
    if (id === chosenId) choose(null);
    drawSoon();
  }

  function learnNames(detail) {
    data.codes[detail.coding[CODE]] = detail.code;
    data.coders[detail.coding[CODER]] = detail.coder;
  }

  function showLayer(payload) {
    data = payload;
    chosenId = null;
    chosenSpan = null;
    paintAll();
    buildList();
    const heading = $("codings-count");
    if (heading && heading.previousSibling) {
      heading.previousSibling.textContent = data.showCoder ? "Codings " : "My codings ";
    }
  }

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
      f.classList.remove("ready");
      return;
    }
    const [start, end] = span;
    // The same passage again (selectionchange fires more than once): keep what the preview says,
    // e.g. "Choose a code" after Enter.
    if (f.classList.contains("ready") && $("id_start").value === String(start) && $("id_end").value === String(end)) return;
    const quote = offsets.quote(textRoot(), start, end);
    $("id_start").value = String(start);
    $("id_end").value = String(end);
    $("id_quote").value = quote;
    preview.textContent = `“${quote.length > 160 ? quote.slice(0, 157) + "…" : quote}” [${start}:${end}]`;
    preview.classList.add("ready");
    f.classList.add("ready");
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

  // Tooltips listing the codings under the pointer ---------------------------------------------
  // Highlights are not elements, so the pointer is hit-tested against the codings' offsets.
  function offsetAt(x, y) {
    const root = textRoot();
    const offset = caretAt(x, y);
    if (offset === null) return null;
    // The caret sits between two characters: take the one whose box holds the point.
    for (const candidate of [offset, offset - 1]) {
      if (candidate < 0) continue;
      const box = offsets.range(root, candidate, candidate + 1).getBoundingClientRect();
      if (x >= box.left && x <= box.right && y >= box.top && y <= box.bottom) return candidate;
    }
    return null;
  }

  function codingsAt(offset) {
    if (offset === null || !data) return [];
    const found = [];
    for (const row of data.codings) {
      if (row[START] > offset) break;
      if (row[END] > offset) found.push(row);
    }
    return found;
  }

  function showTip(rows, x, y) {
    const tip = $("hl-tip");
    if (!tip) return;
    if (!rows.length) {
      hideTip();
      return;
    }
    tip.replaceChildren(...rows.map((row) => element("div", "", summary(row))));
    tip.style.left = `${Math.round(window.scrollX + x)}px`;
    tip.style.top = `${Math.round(window.scrollY + y + 16)}px`;
    tip.hidden = false;
  }

  function hideTip() {
    const tip = $("hl-tip");
    if (tip) tip.hidden = true;
  }

  function focusCodings(rows) {
    document.querySelectorAll(".coding-item.focus").forEach((el) => el.classList.remove("focus"));
    if (rows.length) buildUpTo(rows);
    rows.forEach((row, i) => {
      const item = $(`coding-${row[ID]}`);
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
    if (textRoot() && textRoot().contains(event.target) && window.getSelection().isCollapsed) {
      const rows = codingsAt(offsetAt(event.clientX, event.clientY));
      focusCodings(rows);
      // The innermost of the coder's own codings there is the one the arrows change.
      const own = rows.filter((row) => row[CODER] === data.me);
      own.sort((a, b) => a[END] - a[START] - (b[END] - b[START]));
      choose(own[0] || null);
    }
    const svg = event.target.closest && event.target.closest("#stripes");
    if (svg && data) {
      const box = svg.getBoundingClientRect();
      const rows = stripes.hit(drawn, event.clientX - box.left, event.clientY - box.top);
      focusCodings(rows);
      showStripeList(rows, event.clientX, event.clientY);
      const own = rows.filter((row) => row[CODER] === data.me);
      if (own.length === 1) choose(own[0]);
    } else if (!event.target.closest("#stripe-list")) {
      hideStripeList();
    }
    const listed = event.target.closest("#stripe-list button[data-coding]");
    if (listed) {
      const row = rowOf(Number(listed.dataset.coding));
      focusCodings(row ? [row] : []);
      choose(row);
      hideStripeList();
    }
    const item = event.target.closest("#codings .coding-item");
    if (item && !event.target.closest("a, button, form, .edit-slot")) choose(rowOf(Number(item.id.slice(7))));
    const bar = event.target.closest && event.target.closest("#overview");
    if (bar) {
      // The overview stands for the whole text: scroll that place of it into the window's upper third.
      const fraction = (event.clientY - bar.getBoundingClientRect().top) / bar.getBoundingClientRect().height;
      const text = textRoot().getBoundingClientRect();
      const top = window.scrollY + text.top + fraction * text.height - window.innerHeight / 3;
      window.scrollTo({ top: Math.max(0, top), behavior: "instant" });
    }
  });

  // On wide screens the panel ends at the window's bottom, even before it sticks to the top, so
  // the save button (sticky at its foot) is in view whatever the page's scroll.
  const wide = window.matchMedia("(min-width: 1101px)");
  function fitPanel() {
    const panel = form() && form().closest(".panel");
    if (!panel) return;
    if (!wide.matches) {
      panel.style.removeProperty("max-height");
      return;
    }
    const top = Math.max(8, panel.getBoundingClientRect().top);
    panel.style.maxHeight = `${Math.max(200, window.innerHeight - top - 8)}px`;
  }

  window.addEventListener("scroll", () => {
    overviewSoon();
    fitPanel();
  }, { passive: true });
  window.addEventListener("resize", () => {
    drawSoon();
    fitPanel();
    placeHandles();
  });

  // Leaving with a chosen passage or a memo not yet saved asks first.
  function unsaved() {
    const memo = $("c-memo");
    return Boolean(form() && ($("id_start").value || (memo && memo.value.trim()) || chosenSpan));
  }

  window.addEventListener("beforeunload", (event) => {
    if (!unsaved()) return;
    event.preventDefault();
    event.returnValue = "";
  });

  let pointer = null;
  document.addEventListener("mousemove", (event) => {
    const root = textRoot();
    if (!root || !root.contains(event.target)) {
      pointer = null;
      hideTip();
      return;
    }
    // One hit test per frame, however fast the pointer moves.
    const waiting = pointer !== null;
    pointer = [event.clientX, event.clientY];
    if (waiting) return;
    requestAnimationFrame(() => {
      if (!pointer) return;
      const [x, y] = pointer;
      pointer = null;
      showTip(codingsAt(offsetAt(x, y)), x, y);
    });
  });

  // The layer chooser applies at once and loads only the codings of the layer.
  document.addEventListener("change", (event) => {
    const select = event.target;
    const chooser = select.closest && select.closest("form.layer-switch");
    if (!chooser) return;
    const query = `?layer=${encodeURIComponent(select.value)}`;
    fetch(chooser.dataset.codingsUrl + query, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((payload) => {
        showLayer(payload);
        history.replaceState(null, "", chooser.getAttribute("action") + `?layer=${encodeURIComponent(payload.layer)}`);
        performance.mark("coding-layer-shown");
        document.dispatchEvent(new CustomEvent("trustcoder:layer-shown"));
      })
      .catch(() => chooser.submit());
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
      if (dragging) {
        endDrag(false);
        return;
      }
      hideTip();
      hideStripeList();
      // Leaving a field keeps the passage chosen for the coding; outside a field Esc drops it.
      if (typing(event.target)) {
        event.target.blur();
        return;
      }
      window.getSelection().removeAllRanges();
      setPending(null);
      return;
    }
    // Ctrl+Enter in the memo saves the coding.
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.id === "c-memo") {
      event.preventDefault();
      saveCoding();
      return;
    }
    // A focused handle moves its end of the span with the arrows, a word at a time.
    const grip = event.target instanceof Element && event.target.closest(".span-handle");
    if (grip && chosenId !== null && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey &&
        ["ArrowLeft", "ArrowRight"].includes(event.key)) {
      event.preventDefault();
      const later = event.key === "ArrowRight";
      if (grip.id === "span-end") adjustChosen(later ? "ArrowRight" : "ArrowLeft");
      else adjustChosen(later ? "ArrowDown" : "ArrowUp");
      return;
    }
    if (event.shiftKey && event.altKey && !event.ctrlKey && !event.metaKey && !typing(event.target) &&
        ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(event.key)) {
      if (chosenId !== null) {
        event.preventDefault();
        adjustChosen(event.key);
      }
      return;
    }
    if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
    const canCode = textRoot().dataset.canCode === "1";
    const key = event.key;
    let handled = true;
    if (key === KEYS.help) $("help-dialog").showModal();
    else if (key === KEYS.next_sentence) moveSentence(1, false);
    else if (key === KEYS.extend_next_sentence) moveSentence(1, true);
    else if (key === KEYS.previous_sentence) moveSentence(-1, false);
    else if (key === KEYS.extend_previous_sentence) moveSentence(-1, true);
    else if (!canCode) handled = false;
    else if (key === "Enter") {
      if (activates(event.target)) handled = false;
      else saveCoding();
    } else if (key === KEYS.stance_for) setStance("for");
    else if (key === KEYS.stance_against) setStance("against");
    else if (key === KEYS.next_party) cycleSelect($("c-party"));
    else if (key === KEYS.next_strength) cycleSelect($("c-strength"));
    else if (key === KEYS.memo) $("c-memo").focus();
    else if (key === KEYS.undo) {
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
    window.htmx.ajax("POST", form.getAttribute("action"), { source: form, swap: "none" });
  });

  // A refused save comes back as 422 with the reason (out of band into #messages). htmx 2 swaps
  // no 4xx response by default, which would leave the coder with no message at all.
  function ours(elt) {
    return elt instanceof Element && elt.closest("#coding-form, #undo-form, .edit-form, .delete-form") !== null;
  }

  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const detail = event.detail;
    if (detail && detail.xhr && detail.xhr.status === 422 && ours(detail.elt)) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });

  // The server answers a write with one coding in an event (views.py: _saved_response). The event
  // comes before htmx swaps the message in, and its handler may remove the form that asked
  // (a list item's), so "shown" is marked once the swap is done.
  function shown() {
    setTimeout(() => {
      performance.mark("coding-save-shown");
      document.dispatchEvent(new CustomEvent("trustcoder:text-updated"));
    }, 0);
  }

  // Code, strength and memo belong to the coding just saved: the next passage starts without them
  // (stance and party stay, they follow the source's speaker more often than not).
  function clearChoices() {
    const f = form();
    if (!f) return;
    f.querySelectorAll('input[name="code"]:checked').forEach((input) => {
      input.checked = false;
    });
    const strength = $("c-strength");
    if (strength) strength.value = "";
    const memo = $("c-memo");
    if (memo) memo.value = "";
  }

  document.body.addEventListener("coding-saved", (event) => {
    learnNames(event.detail);
    addCoding(event.detail.coding);
    window.getSelection().removeAllRanges();
    setPending(null);
    clearChoices();
    note(`Saved ${event.detail.code}`, rangeOf.get(event.detail.coding[ID]));
    performance.mark("coding-highlight-shown");
    shown();
  });

  document.body.addEventListener("coding-changed", (event) => {
    learnNames(event.detail);
    const id = event.detail.coding[ID];
    const wasChosen = id === chosenId;
    const waiting = wasChosen ? chosenSpan : null;
    removeCoding(id);
    addCoding(event.detail.coding);
    if (wasChosen) {
      const row = rowOf(id);
      choose(row);
      // A later step already on screen stays until it is sent.
      const done = waiting && waiting[0] === row[START] && waiting[1] === row[END];
      if (waiting && !done) chosenSpan = waiting;
      paintChosen();
      if (done) note(`Span changed: [${row[START]}:${row[END]}]`, rangeOf.get(id));
    }
    shown();
  });

  document.body.addEventListener("coding-removed", (event) => {
    removeCoding(event.detail.id);
    shown();
  });

  // A refused write sends no event. A refused selection is dropped; the memo is kept for the
  // next try.
  document.body.addEventListener("htmx:afterRequest", (event) => {
    const detail = event.detail;
    if (!detail || !detail.xhr || detail.xhr.status < 400 || !ours(detail.elt)) return;
    if (detail.elt.id === "coding-form") {
      const start = Number($("id_start").value);
      const end = Number($("id_end").value);
      if (end > start) note("Not saved: see the message", offsets.range(textRoot(), start, end), true);
      window.getSelection().removeAllRanges();
      setPending(null);
    }
    if (detail.elt === spanForm) {
      // A refused span: the coding keeps the span it has.
      chosenSpan = null;
      paintChosen();
      note("Span not changed: see the message", null, true);
    }
    shown();
  });

  function start() {
    if (!textRoot()) return;
    textRoot().dataset.chosen = "";
    fitPanel();
    readData();
    if (data) {
      paintAll();
      buildList();
      const list = $("coding-list");
      if (list) list.addEventListener("scroll", buildMoreSoon, { passive: true });
      // Lines wrap anew when the text's width changes: measure the stripes again.
      if (typeof ResizeObserver === "function") {
        let size = "";
        new ResizeObserver(([entry]) => {
          const now = `${Math.round(entry.contentRect.width)}x${Math.round(entry.contentRect.height)}`;
          if (size && now !== size) {
            drawSoon();
            placeHandles();
          }
          size = now;
        }).observe(textRoot());
      }
    }
    performance.mark("coding-ready");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
