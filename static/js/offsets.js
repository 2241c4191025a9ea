// Text selections as code-point offsets. The server renders a source text as runs
// <span data-o="OFFSET">, OFFSET counting Unicode code points; the DOM counts UTF-16 units, so
// every conversion happens here, at the edge. Used by the coding and the review pages.
(function () {
  "use strict";

  const WORD = /[\p{L}\p{M}\p{N}_]/u;
  const JOINER = /['’\-‐]/u;
  const charsOf = new WeakMap(); // root element -> its text as an array of code points
  const startsOf = new WeakMap(); // root element -> the code-point offset of each run

  function codePoints(s) {
    let n = 0;
    for (const _ of s) n++; // eslint-disable-line no-unused-vars
    return n;
  }

  function chars(root) {
    let cached = charsOf.get(root);
    if (!cached) {
      cached = Array.from(root.textContent);
      charsOf.set(root, cached);
    }
    return cached;
  }

  function runOf(node) {
    const el = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
    return el ? el.closest("[data-o]") : null;
  }

  // A DOM boundary point (node, offset) as a code-point offset into the root's text.
  function pointToOffset(root, node, offset) {
    if (node === root) {
      if (offset >= root.children.length) return chars(root).length;
      return Number(root.children[offset].dataset.o);
    }
    const run = runOf(node);
    if (!run || !root.contains(run)) return null;
    const base = Number(run.dataset.o);
    if (node.nodeType === Node.TEXT_NODE) return base + codePoints(node.data.slice(0, offset));
    return base + (offset > 0 ? codePoints(run.textContent) : 0);
  }

  function isWordAt(text, i) {
    if (i < 0 || i >= text.length) return false;
    if (WORD.test(text[i])) return true;
    return JOINER.test(text[i]) && i > 0 && WORD.test(text[i - 1]) && i + 1 < text.length && WORD.test(text[i + 1]);
  }

  // Widen a span to whole words (when `snap`), then trim surrounding white space.
  function snapSpan(root, start, end, snap) {
    const text = chars(root);
    if (snap) {
      while (start > 0 && isWordAt(text, start) && isWordAt(text, start - 1)) start--;
      while (end < text.length && end > 0 && isWordAt(text, end - 1) && isWordAt(text, end)) end++;
    }
    while (start < end && /\s/u.test(text[start])) start++;
    while (end > start && /\s/u.test(text[end - 1])) end--;
    return [start, end];
  }

  // The current selection, clipped to the root, as [start, end] code points (or null).
  function selectedSpan(root, snap) {
    const selection = window.getSelection();
    if (!root || !selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
    const range = selection.getRangeAt(0).cloneRange();
    const whole = document.createRange();
    whole.selectNodeContents(root);
    if (range.compareBoundaryPoints(Range.END_TO_START, whole) >= 0) return null;
    if (range.compareBoundaryPoints(Range.START_TO_END, whole) <= 0) return null;
    if (range.compareBoundaryPoints(Range.START_TO_START, whole) < 0) range.setStart(whole.startContainer, whole.startOffset);
    if (range.compareBoundaryPoints(Range.END_TO_END, whole) > 0) range.setEnd(whole.endContainer, whole.endOffset);
    const start = pointToOffset(root, range.startContainer, range.startOffset);
    const end = pointToOffset(root, range.endContainer, range.endOffset);
    if (start === null || end === null) return null;
    const [a, b] = snapSpan(root, Math.min(start, end), Math.max(start, end), snap);
    return a < b ? [a, b] : null;
  }

  function quote(root, start, end) {
    return chars(root).slice(start, end).join("");
  }

  function runStarts(root) {
    let starts = startsOf.get(root);
    if (!starts) {
      starts = Array.from(root.children, (run) => Number(run.dataset.o));
      startsOf.set(root, starts);
    }
    return starts;
  }

  // A code-point offset as a DOM boundary point {node, index} (index in UTF-16 units).
  function locate(root, offset) {
    const starts = runStarts(root);
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    const run = root.children[lo];
    const node = run.firstChild;
    if (!node) return { node: run, index: 0 };
    const data = node.data;
    let index = 0;
    for (let cp = starts[lo]; cp < offset && index < data.length; cp++) {
      index += data.codePointAt(index) > 0xffff ? 2 : 1;
    }
    return { node, index };
  }

  // A DOM Range over code points [start, end) of the root's text.
  function range(root, start, end) {
    const a = locate(root, start);
    const b = locate(root, end);
    const r = document.createRange();
    r.setStart(a.node, a.index);
    r.setEnd(b.node, b.index);
    return r;
  }

  // The offset one word after (direction 1) or before (-1) `offset`, skipping what lies between
  // words first: the step of a span's end or start when a coding is widened or narrowed.
  function wordStep(root, offset, direction) {
    const text = chars(root);
    let i = offset;
    if (direction > 0) {
      while (i < text.length && !isWordAt(text, i)) i++;
      while (i < text.length && isWordAt(text, i)) i++;
    } else {
      while (i > 0 && !isWordAt(text, i - 1)) i--;
      while (i > 0 && isWordAt(text, i - 1)) i--;
    }
    return i;
  }

  function trimSpan(root, start, end) {
    return snapSpan(root, start, end, false);
  }

  // A span widened to whole words and trimmed: where a dragged start or end comes to rest.
  function wordSpan(root, start, end) {
    return snapSpan(root, start, end, true);
  }

  function forget(root) {
    charsOf.delete(root);
    startsOf.delete(root);
  }

  window.TrustCoderOffsets = { selectedSpan, quote, forget, range, pointToOffset, wordStep, trimSpan, wordSpan };
})();
