"""An automated accessibility audit of a page with axe-core (the npm package, installed by `make a11y` from
testkit/a11y/package-lock.json; never fetched at test time).

The script is evaluated through the DevTools protocol, so a page's own content security policy does not stop it."""
from __future__ import annotations

from kuanxin.core.settings import PROJECT_ROOT

AXE = PROJECT_ROOT / "testkit" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
# WCAG 2.1 A and AA plus axe's best practices, as the page is drawn (the live redraw paused by the caller if needed)
RUN = """async () => {
  const result = await axe.run(document, {runOnly: {type: "tag",
      values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}});
  return {passed: result.passes.length, violations: result.violations.map(v => ({id: v.id, impact: v.impact,
      help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}))};
}"""
MIN_RULES_PASSED = 10  # an audit that checked almost nothing (no page, a broken script) is no pass


def axe_script() -> str:
    if not AXE.exists():
        raise AssertionError(f"axe-core is missing at {AXE}: `make a11y` installs it")
    return AXE.read_text(encoding="utf-8")


def violations(page, impacts: tuple[str, ...] = BLOCKING) -> list[dict]:
    """The page's accessibility violations of the given impact (serious and critical by default)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_script())
    audit = page.evaluate(RUN)
    assert audit["passed"] >= MIN_RULES_PASSED, f"axe checked too little on {page.url}: {audit}"
    return [found for found in audit["violations"] if found["impact"] in impacts]
