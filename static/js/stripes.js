// Coding stripes and the overview bar of the coding page, drawn from the codings' data into two
// SVGs that coding.js owns. One column per code (per coder and code when several coders are
// shown), a lane per overlapping coding inside a column, so nested and overlapping codings are
// seen at a glance. A column's stripes are one <path> per lane and stance: the cost is a few
// elements, not one per coding, and the layout is kept for hit-testing a click.
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const LANE = 4; // px per lane
  const MAX_LANES = 4; // deeper overlaps share the last lane
  const GAP = 3; // px between columns
  const GROUP_GAP = 6; // px between coders

  function svgElement(tag, attributes) {
    const el = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, String(value));
    return el;
  }

  // items: [{row, key, code, coder, top, bottom}] in text order; returns the columns with their
  // x, width and items (each with its lane), and the total width.
  function layout(items, order) {
    const columns = new Map();
    for (const item of items) {
      let column = columns.get(item.key);
      if (!column) {
        column = { key: item.key, code: item.code, coder: item.coder, laneEnds: [], items: [] };
        columns.set(item.key, column);
      }
      let lane = column.laneEnds.findIndex((end) => end <= item.top);
      if (lane < 0) {
        if (column.laneEnds.length < MAX_LANES) {
          lane = column.laneEnds.length;
          column.laneEnds.push(0);
        } else {
          lane = MAX_LANES - 1;
        }
      }
      column.laneEnds[lane] = Math.max(column.laneEnds[lane], item.bottom + 1);
      column.items.push({ ...item, lane });
    }
    const sorted = Array.from(columns.values()).sort(order);
    let x = 0;
    let previous = null;
    for (const column of sorted) {
      if (previous !== null && previous.coder !== column.coder) x += GROUP_GAP;
      column.x = x;
      column.width = column.laneEnds.length * LANE;
      x += column.width + GAP;
      previous = column;
    }
    return { columns: sorted, width: Math.max(0, x - GAP) };
  }

  function rectPath(x, y, w, h) {
    return `M${x} ${y.toFixed(1)}h${w}v${Math.max(2, h).toFixed(1)}h${-w}z`;
  }

  // Draw the stripes; `initials` (coder id -> text) labels each coder's group when given.
  function drawStripes(svg, drawn, height, initials, chosen) {
    const parts = [];
    let lastCoder = null;
    for (const column of drawn.columns) {
      const lanes = new Map(); // "lane stance" -> path data
      for (const item of column.items) {
        const name = `${item.lane} ${item.against ? "against" : "for"}`;
        const x = column.x + item.lane * LANE + (item.against ? 0.75 : 0);
        const w = item.against ? LANE - 1.5 : LANE - 1;
        lanes.set(name, (lanes.get(name) || "") + rectPath(x, item.top, w, item.bottom - item.top));
        if (chosen !== null && item.row[0] === chosen) {
          parts.push(svgElement("rect", {
            class: "chosen", x: x - 1.5, y: item.top - 1.5, width: w + 3,
            height: Math.max(2, item.bottom - item.top) + 3,
          }));
        }
      }
      for (const [name, d] of lanes) {
        const against = name.endsWith("against");
        parts.unshift(svgElement("path", {
          class: `stripe code-${column.code}${against ? " against" : ""}`,
          "data-column": column.key, d,
        }));
      }
      if (initials && column.coder !== lastCoder) {
        const label = svgElement("text", { class: "initials", x: column.x, y: -3 });
        label.textContent = initials[column.coder] || "";
        parts.push(label);
      }
      lastCoder = column.coder;
    }
    svg.setAttribute("width", String(drawn.width));
    svg.setAttribute("height", String(Math.ceil(height)));
    svg.setAttribute("viewBox", `0 0 ${drawn.width} ${Math.ceil(height)}`);
    svg.replaceChildren(...parts);
  }

  // The codings under a point of the stripes SVG.
  function hit(drawn, x, y) {
    const column = drawn.columns.find((c) => x >= c.x - 1 && x <= c.x + c.width + 1);
    if (!column) return [];
    return column.items.filter((item) => y >= item.top - 2 && y <= item.bottom + 2).map((item) => item.row);
  }

  // The overview: every coding as a mark at its place in the whole text, one path per code.
  function drawOverview(svg, items, textHeight, barHeight, view) {
    const byCode = new Map();
    const scale = textHeight > 0 ? barHeight / textHeight : 0;
    for (const item of items) {
      const d = rectPath(1, item.top * scale, 10, (item.bottom - item.top) * scale);
      byCode.set(item.code, (byCode.get(item.code) || "") + d);
    }
    const parts = [];
    for (const [code, d] of byCode) parts.push(svgElement("path", { class: `mark code-${code}`, d }));
    parts.push(svgElement("rect", {
      class: "view", x: 0, width: 12,
      y: Math.max(0, view.top * scale).toFixed(1),
      height: Math.max(4, view.height * scale).toFixed(1),
    }));
    svg.setAttribute("height", String(Math.round(barHeight)));
    svg.setAttribute("viewBox", `0 0 12 ${Math.round(barHeight)}`);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.replaceChildren(...parts);
  }

  window.TrustCoderStripes = { layout, drawStripes, hit, drawOverview };
})();
