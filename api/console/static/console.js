// Keyboard shortcuts for the inbox (progressive enhancement: every action is a plain form without this).
// j / k: next / previous draft; a: approve; e: open "edit and approve"; r: open "reject".
(function () {
  const drafts = Array.from(document.querySelectorAll("article.draft"));
  if (!drafts.length) return;
  let at = -1;
  function focus(i) {
    if (i < 0 || i >= drafts.length) return;
    if (at >= 0) drafts[at].classList.remove("current");
    at = i;
    drafts[at].classList.add("current");
    drafts[at].focus();
  }
  document.addEventListener("keydown", function (ev) {
    const t = ev.target;
    if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "j") { focus(at + 1); ev.preventDefault(); return; }
    if (ev.key === "k") { focus(Math.max(at - 1, 0)); ev.preventDefault(); return; }
    if (at < 0) return;
    const d = drafts[at];
    if (ev.key === "a") { const b = d.querySelector('button[data-key="a"]'); if (b) b.click(); }
    if (ev.key === "e" || ev.key === "r") {
      const det = d.querySelector('details[data-key="' + ev.key + '"]');
      if (det) { det.open = true; const f = det.querySelector("textarea, input:not([type=hidden])"); if (f) f.focus(); ev.preventDefault(); }
    }
  });
})();

// The assistant page: the question goes to the console's event stream (fetch with Accept: text/event-stream, read
// with a ReadableStream reader) and each step is shown as it arrives; the answer is then shown in its thread. When
// no stream comes back (a refused question, a network error), the form is sent as a plain form: the JSON reply.
(function () {
  const form = document.querySelector("form[data-stream]");
  const live = document.getElementById("live");
  if (!form || !live || !window.ReadableStream || !window.TextDecoder) return;
  const status = document.getElementById("live-status");
  const rows = live.querySelector("tbody");
  const button = form.querySelector('button[type="submit"]');
  function cell(tr, text, code) {
    const td = document.createElement("td");
    if (code) { const c = document.createElement("code"); c.textContent = text; td.appendChild(c); } else td.textContent = text;
    tr.appendChild(td);
  }
  function alert(text) {
    let p = document.querySelector("p.alert");
    if (!p) { p = document.createElement("p"); p.className = "alert"; p.setAttribute("role", "alert"); form.before(p); }
    p.textContent = text;
  }
  // no fragment: the same address with a fragment would only scroll, not load the thread again
  function threadPage(id) { return "/console/assistant?thread=" + encodeURIComponent(id); }
  function handle(name, d) {
    if (name === "thread") { form.elements.namedItem("thread_id").value = d.thread_id; status.textContent = "Asked: the supervisor is choosing the agents."; }
    else if (name === "agents") status.textContent = "Agents: " + d.agents.join(" → ") + ". Working…";
    else if (name === "retry") { rows.replaceChildren(); status.textContent = "Started again (attempt " + d.attempt + ")…"; }
    else if (name === "step") {
      const tr = document.createElement("tr");
      cell(tr, d.agent); cell(tr, d.tool); cell(tr, JSON.stringify(d.args), true); cell(tr, d.summary);
      rows.appendChild(tr);
    } else if (name === "answer") { status.textContent = "Answered."; window.location.assign(threadPage(d.thread_id)); return true; }
    else if (name === "error") { status.textContent = ""; alert(d.error.message); return true; }
    return false;
  }
  // The form's key is the request's Idempotency-Key: the same question sent again with it (the plain form after a
  // broken stream) is asked once; another question gets a key of its own.
  let askedWith = null;
  function freshKey() {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }
  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    const question = form.elements.namedItem("text").value;
    const key = form.elements.namedItem("key");
    if (askedWith !== null && askedWith !== question) key.value = freshKey();
    askedWith = question;
    button.disabled = true;
    let res;
    try {
      res = await fetch(form.dataset.stream, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: "text/event-stream" },
        credentials: "same-origin",
      });
    } catch (e) { form.submit(); return; }
    if (!res.ok || !res.body || !(res.headers.get("content-type") || "").startsWith("text/event-stream")) { form.submit(); return; }
    document.getElementById("live-question").textContent = question;
    rows.replaceChildren();
    status.textContent = "Sending…";
    live.hidden = false;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "", ended = false;
    try {
      while (!ended) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        let at;
        while (!ended && (at = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          let name = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) name = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (data) ended = handle(name, JSON.parse(data));
        }
      }
    } catch (e) { /* the connection broke: said below */ }
    if (!ended) {
      const id = form.elements.namedItem("thread_id").value;
      status.textContent = "The connection ended before the answer; the request goes on, and its answer will be in the thread.";
      if (id) { const a = document.createElement("a"); a.href = threadPage(id); a.textContent = " Open the thread"; status.appendChild(a); }
    }
    button.disabled = false;
  });
})();
