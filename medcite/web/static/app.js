// medcite web page: ask a case, show the tiered answer, open cited passages, copy as markdown.
// Plain browser JavaScript, no build step. Every text from the server is set with textContent.
"use strict";

// Label-check statuses (medcite.analyze.concordance): green when the label supports the order, red when not.
const OK = new Set(["on_label", "matches"]);
const BAD = new Set(["not_indicated", "mismatch"]);
let current = null; // the answer on screen

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) h["X-API-Key"] = key;
  return h;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers() });
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) {
    const message = body && body.error ? body.error : `HTTP ${response.status}`;
    throw new Error(message);
  }
  return body;
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "muted";
}

// ------------------------------------------------------------------ label checks
function badgeClass(status) {
  const s = String(status || "").toLowerCase();
  if (OK.has(s)) return "ok";
  if (BAD.has(s)) return "bad";
  return "unknown";
}

function badge(name, status, extra, title) {
  const text = `${name}: ${String(status || "unknown").replace(/_/g, " ")}` + (extra ? ` (${extra})` : "");
  const attrs = { class: `badge ${badgeClass(status)}`, dataset: { verdict: name, status: String(status || "") } };
  if (title) attrs.title = title;
  return el("span", attrs, text);
}

function citeButtons(numbers) {
  return (numbers || []).map((n) => el("button", { type: "button", class: "cite", dataset: { n: String(n) } }, `[${n}]`));
}

function renderChecks(answer) {
  const box = $("label-checks");
  box.replaceChildren();
  if (!answer.label_checks || !answer.label_checks.length) return;
  box.append(el("h2", {}, "Label check"));
  for (const check of answer.label_checks) {
    const label = check.label ? `${check.label.title || ""} (version ${check.label.version || "?"}, ${check.label.effective_date || "?"})` : "no FDA label held";
    const card = el("div", { class: "check", dataset: { drug: check.drug } },
      el("h3", {}, check.drug, " ", el("span", { class: "muted" }, label)));
    const badges = el("div", { class: "badges" });
    badges.append(badge("indication", check.indication.status), ...citeButtons(check.indication.citations));
    for (const name of ["dose", "frequency", "route"]) {
      const v = check[name];
      // The label's wording can be a whole sentence: it goes in the tooltip, the badge stays short.
      badges.append(badge(name, v.status, v.prescribed ? `ordered ${v.prescribed}` : "",
        [v.labeled && `label: ${v.labeled}`, v.detail].filter(Boolean).join(" — ")), ...citeButtons(v.citations));
    }
    for (const alert of check.alerts || []) {
      badges.append(el("span", { class: "badge warn", dataset: { verdict: "alert", status: alert.kind } },
        `${alert.kind.replace(/_/g, " ")}: ${alert.trigger}`), ...citeButtons(alert.citations));
    }
    card.append(badges);
    if (check.note) card.append(el("p", { class: "muted" }, check.note));
    box.append(card);
  }
}

// ------------------------------------------------------------------ tiers and references
function sentenceNode(sentence) {
  return el("p", { class: "sentence" }, sentence.text, " ", ...citeButtons(sentence.citations));
}

function renderTiers(answer) {
  const box = $("tiers");
  box.replaceChildren();
  if (answer.bottom_line && answer.bottom_line.length) {
    box.append(el("div", { class: "tier", dataset: { tier: "bottom_line" } },
      el("h2", {}, "Bottom line"), ...answer.bottom_line.map(sentenceNode)));
  }
  for (const section of answer.sections || []) {
    const node = el("div", { class: "tier", dataset: { tier: section.tier } }, el("h2", {}, section.heading));
    node.append(...(section.sentences || []).map(sentenceNode));
    if (section.note) node.append(el("p", { class: "note" }, section.note));
    box.append(node);
  }
}

function renderReferences(answer) {
  const list = $("references");
  list.replaceChildren();
  for (const ref of answer.references || []) {
    const item = el("li", { id: `ref-${ref.n}`, value: String(ref.n), dataset: { n: String(ref.n), tier: ref.tier } },
      el("button", { type: "button", class: "cite", dataset: { n: String(ref.n) } }, `[${ref.n}]`), " ",
      ref.title, " — ", ref.section, " ",
      ref.url ? el("a", { href: ref.url, target: "_blank", rel: "noopener" }, ref.source_id) : ref.source_id,
      ref.date ? ` (${ref.date})` : "");
    list.append(item);
  }
}

function render(answer) {
  current = answer;
  renderChecks(answer);
  renderTiers(answer);
  renderReferences(answer);
  const verification = answer.verification && Object.keys(answer.verification).length ? " · verification: " + JSON.stringify(answer.verification) : "";
  $("stamp").textContent = `corpus version ${answer.corpus_version} · settings ${answer.settings_hash}${verification}`;
  $("answer").hidden = false;
  $("copy-md").disabled = false;
}

// ------------------------------------------------------------------ cited passage
async function openCitation(n) {
  const ref = (current && current.references || []).find((r) => r.n === n);
  if (!ref) return;
  document.querySelectorAll(".cite.active, #references li.active").forEach((x) => x.classList.remove("active"));
  document.querySelectorAll(`.cite[data-n="${n}"]`).forEach((x) => x.classList.add("active"));
  const li = $(`ref-${n}`);
  if (li) li.classList.add("active");
  const panel = $("passage");
  panel.hidden = false;
  $("passage-title").textContent = `[${n}] ${ref.title}`;
  $("passage-meta").textContent = "loading…";
  $("passage-body").replaceChildren();
  try {
    const doc = await api(`/api/v1/documents/${encodeURIComponent(ref.doc_id)}?passage=${encodeURIComponent(ref.passage_id)}`);
    $("passage-meta").textContent = [doc.tier, doc.source_id, doc.version && `version ${doc.version}`, doc.date].filter(Boolean).join(" · ");
    let target = null;
    for (const section of doc.sections) {
      const node = el("section", {}, el("h3", {}, section.name));
      for (const p of section.passages) {
        if (p.highlighted) {
          target = el("mark", { class: "cited", id: "cited-passage", dataset: { passage: p.passage_id } }, p.text);
          node.append(el("p", {}, target));
        } else {
          node.append(el("p", {}, p.text));
        }
      }
      $("passage-body").append(node);
    }
    if (target) target.scrollIntoView({ block: "center" });
  } catch (err) {
    $("passage-meta").textContent = `could not load the passage: ${err.message}`;
  }
}

// ------------------------------------------------------------------ markdown
function cites(numbers) {
  return (numbers || []).map((n) => `[${n}]`).join("");
}

function toMarkdown(answer) {
  const lines = ["# medcite answer", "", `> ${answer.question.replace(/\n/g, "\n> ")}`, ""];
  if (answer.label_checks && answer.label_checks.length) {
    lines.push("## Label check", "");
    for (const c of answer.label_checks) {
      lines.push(`**${c.drug}**` + (c.label ? ` — ${c.label.title}` : " — no FDA label held"));
      lines.push(`- indication: ${c.indication.status} ${cites(c.indication.citations)}`.trimEnd());
      for (const name of ["dose", "frequency", "route"]) {
        const v = c[name];
        const extra = [v.prescribed && `ordered ${v.prescribed}`, v.labeled && `label ${v.labeled}`].filter(Boolean).join(", ");
        lines.push(`- ${name}: ${v.status}${extra ? ` (${extra})` : ""} ${cites(v.citations)}`.trimEnd());
      }
      for (const a of c.alerts || []) lines.push(`- ${a.kind.replace(/_/g, " ")} (${a.trigger}): ${a.text} ${cites(a.citations)}`.trimEnd());
      lines.push("");
    }
  }
  if (answer.bottom_line && answer.bottom_line.length) {
    lines.push("## Bottom line", "", ...answer.bottom_line.map((s) => `${s.text} ${cites(s.citations)}`.trimEnd()), "");
  }
  for (const section of answer.sections || []) {
    lines.push(`## ${section.heading}`, "");
    for (const s of section.sentences || []) lines.push(`${s.text} ${cites(s.citations)}`.trimEnd());
    if (section.note) lines.push(`_${section.note}_`);
    lines.push("");
  }
  lines.push("## References", "");
  for (const r of answer.references || []) {
    lines.push(`${r.n}. ${r.title} — ${r.section} (${r.source_id})${r.url ? ` <${r.url}>` : ""}`);
  }
  lines.push("", `_corpus version ${answer.corpus_version}, settings ${answer.settings_hash}_`);
  return lines.join("\n");
}

async function copyMarkdown() {
  if (!current) return;
  const text = toMarkdown(current);
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) {
    // Clipboard API needs a secure context; fall back to a selected textarea.
    const area = el("textarea", {}, text);
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  $("copy-md").dataset.markdown = text;
  setStatus("copied as markdown");
}

// ------------------------------------------------------------------ wiring
async function ask(event) {
  event.preventDefault();
  const question = $("case").value.trim();
  if (!question) return;
  $("ask").disabled = true;
  setStatus("answering…");
  try {
    const answer = await api("/api/v1/ask", { method: "POST", body: JSON.stringify({ question }) });
    render(answer);
    setStatus("");
  } catch (err) {
    setStatus(err.message, true);
  } finally {
    $("ask").disabled = false;
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.cite");
  if (button) openCitation(Number(button.dataset.n));
});
$("ask-form").addEventListener("submit", ask);
$("copy-md").addEventListener("click", copyMarkdown);
$("passage-close").addEventListener("click", () => { $("passage").hidden = true; });
$("api-key").value = localStorage.getItem("medcite-api-key") || "";
$("api-key").addEventListener("change", () => localStorage.setItem("medcite-api-key", $("api-key").value.trim()));
api("/healthz").then((h) => { $("corpus").textContent = `corpus version ${h.corpus_version}`; }).catch(() => {});
