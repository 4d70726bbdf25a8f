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
