// NAT cell editor: drag a transformation chip (keep / skip / null) onto an edge of the cell.
// Streamlit custom component v2: `data` comes from Python; a drop sends the trigger value
// "drop" = {edge, action, nonce}. Clicking a chip then an edge does the same (keyboard/mouse fallback).
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  if (!data) return;
  let root = parentElement.querySelector(".nat-editor");
  if (root) root.remove();
  root = document.createElement("div");
  root.className = "nat-editor";
  root.setAttribute("data-testid", "nat-editor");
  parentElement.appendChild(root);

  const NS = "http://www.w3.org/2000/svg";
  let selected = null;

  // ---- chips -------------------------------------------------------------------------------
  const palette = document.createElement("div");
  palette.className = "nat-palette";
  const hint = document.createElement("span");
  hint.className = "nat-hint";
  hint.textContent = "Drag a transformation onto an edge:";
  palette.appendChild(hint);
  for (const action of data.actions) {
    const chip = document.createElement("div");
    chip.className = `nat-chip nat-chip-${action}`;
    chip.textContent = action;
    chip.draggable = true;
    chip.setAttribute("data-action", action);
    chip.setAttribute("data-testid", `nat-chip-${action}`);
    chip.title = data.action_labels[action] || action;
    chip.addEventListener("dragstart", (event) => {
      event.dataTransfer.setData("text/plain", action);
      event.dataTransfer.effectAllowed = "copy";
      root.setAttribute("data-dragging", action);
    });
    chip.addEventListener("dragend", () => root.removeAttribute("data-dragging"));
    chip.addEventListener("click", () => {
      selected = selected === action ? null : action;
      palette.querySelectorAll(".nat-chip").forEach((c) =>
        c.classList.toggle("nat-chip-selected", c.getAttribute("data-action") === selected));
    });
    palette.appendChild(chip);
  }
  const status = document.createElement("span");
  status.className = "nat-status";
  status.setAttribute("data-testid", "nat-status");
  palette.appendChild(status);
  root.appendChild(palette);

  // ---- the cell ----------------------------------------------------------------------------
  const stage = document.createElement("div");
  stage.className = "nat-stage";
  stage.style.width = `${data.width}px`;
  stage.style.height = `${data.height}px`;
  root.appendChild(stage);
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("width", data.width);
  svg.setAttribute("height", data.height);
  svg.setAttribute("class", "nat-svg");
  const defs = document.createElementNS(NS, "defs");
  const marker = document.createElementNS(NS, "marker");
  marker.setAttribute("id", "nat-arrow");
  marker.setAttribute("viewBox", "0 0 10 10");
  marker.setAttribute("refX", "10");
  marker.setAttribute("refY", "5");
  marker.setAttribute("markerWidth", "7");
  marker.setAttribute("markerHeight", "7");
  marker.setAttribute("orient", "auto-start-reverse");
  const tip = document.createElementNS(NS, "path");
  tip.setAttribute("d", "M 0 0 L 10 5 L 0 10 z");
  tip.setAttribute("fill", "#555");
  marker.appendChild(tip);
  defs.appendChild(marker);
  svg.appendChild(defs);
  stage.appendChild(svg);

  for (const edge of data.edges) {
    const path = document.createElementNS(NS, "path");
    path.setAttribute("d", edge.path);
    path.setAttribute("class", `nat-edge nat-edge-${edge.state}${edge.pruned ? " nat-edge-pruned" : ""}`);
    path.setAttribute("stroke", edge.color);
    path.setAttribute("marker-end", "url(#nat-arrow)");
    svg.appendChild(path);
  }
  for (const link of data.links || []) {
    const path = document.createElementNS(NS, "path");
    path.setAttribute("d", link.path);
    path.setAttribute("class", `nat-link${link.pruned ? " nat-link-pruned" : ""}`);
    path.setAttribute("marker-end", "url(#nat-arrow)");
    svg.appendChild(path);
  }
  for (const node of data.nodes) {
    const circle = document.createElementNS(NS, "circle");
    circle.setAttribute("cx", node.x);
    circle.setAttribute("cy", node.y);
    circle.setAttribute("r", node.r);
    circle.setAttribute("class", `nat-node nat-node-${node.role}${node.pruned ? " nat-node-pruned" : ""}`);
    circle.setAttribute("data-testid", `nat-node-${node.label}`);
    circle.setAttribute("data-pruned", node.pruned ? "true" : "false");
    if (node.pruned) {
      const title = document.createElementNS(NS, "title");
      title.textContent = `node ${node.label} is pruned: the transformation cut it off from the output`;
      circle.appendChild(title);
    }
    svg.appendChild(circle);
    const text = document.createElementNS(NS, "text");
    text.setAttribute("x", node.x);
    text.setAttribute("y", node.y + 4);
    text.setAttribute("text-anchor", "middle");
    text.setAttribute("class", `nat-node-label${node.pruned ? " nat-node-label-pruned" : ""}`);
    text.textContent = node.label;
    svg.appendChild(text);
  }

  const flash = (message) => {
    status.textContent = message;
    status.classList.add("nat-status-warn");
  };
  if (data.pruned && data.pruned.length) {
    status.textContent = `pruned (greyed out): node${data.pruned.length > 1 ? "s" : ""} ${data.pruned.join(", ")}`;
  }
  const forbidden = (edge, action) => `${action} is not allowed on ${edge.title} under the ${data.rule} rule`;

  const send = (edge, action) => {
    if (!edge.allowed[action]) {
      flash(forbidden(edge, action));
      return;
    }
    status.textContent = `${action} -> ${edge.title}`;
    status.classList.remove("nat-status-warn");
    setTriggerValue("drop", { edge: edge.index, action, nonce: Date.now() });
  };

  for (const edge of data.edges) {
    const target = document.createElement("div");
    target.className = `nat-target nat-target-${edge.state}${edge.pruned ? " nat-target-pruned" : ""}`;
    target.style.left = `${edge.lx}px`;
    target.style.top = `${edge.ly}px`;
    target.style.borderColor = edge.color;
    target.setAttribute("data-edge", String(edge.index));
    target.setAttribute("data-testid", `nat-edge-${edge.index}`);
    target.setAttribute("data-op", edge.op);
    target.title = `${edge.title}: drop keep, skip or null here`;
    target.textContent = edge.label;
    // a forbidden action is still accepted as a drop (so the drop event fires) and explained, never silently lost
    target.addEventListener("dragover", (event) => {
      const action = root.getAttribute("data-dragging");
      event.preventDefault();
      const refused = Boolean(action) && !edge.allowed[action];
      event.dataTransfer.dropEffect = "copy";  // so that the drop fires and is explained
      target.classList.toggle("nat-target-forbidden", refused);
      target.classList.toggle("nat-target-over", !refused);
      if (refused) flash(forbidden(edge, action));
    });
    target.addEventListener("dragleave", () => target.classList.remove("nat-target-over", "nat-target-forbidden"));
    target.addEventListener("drop", (event) => {
      event.preventDefault();
      target.classList.remove("nat-target-over", "nat-target-forbidden");
      const action = event.dataTransfer.getData("text/plain") || root.getAttribute("data-dragging");
      root.removeAttribute("data-dragging");
      if (action) send(edge, action);
    });
    target.addEventListener("click", () => {
      if (selected) send(edge, selected);
      else flash("pick a chip first (or drag it onto the edge)");
    });
    stage.appendChild(target);
  }
}
