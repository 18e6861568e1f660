"""The indexed lookups served in gradio's page script (demos/common/gradio_page.indexed_frontend) give gradio's
own answers: both versions run side by side in Chromium on random component trees and event lists, before and
after the tree changes under the index."""

from __future__ import annotations

import pytest

from demos.common import gradio_page

pytestmark = pytest.mark.browser

CHECK = """
(seed) => {
  let state = seed;
  const rand = (n) => { state = (state * 1103515245 + 12345) % 2147483648; return state % n; };
  const results = {nodes: 0, queries: 0, events: 0, mismatches: []};
  for (let round = 0; round < 40; round++) {
    // A random tree with unique ids (some ids are never in it: gradio asks for States, which are not in the tree).
    let next = 1;
    const grow = (depth) => { const node = {id: next++, children: []};
      if (depth < 6) { const k = rand(depth < 2 ? 6 : 4); for (let i = 0; i < k; i++) node.children.push(grow(depth + 1)); }
      return node; };
    const root = grow(0);
    results.nodes += next;
    // ... and null / undefined ids (gradio asks for null ~130 times while a page opens).
    const ask = () => { for (let q = 0; q < 60; q++) { const r = rand(12), id = r === 0 ? null : r === 1 ? undefined : rand(next + 20);
      const a = OLD.Z(root, id), b = NEW.Z(root, id); results.queries++;
      if (a !== b) results.mismatches.push(['Z', round, id]); } };
    ask();
    // Change the tree under the index: move a subtree, drop one, add new nodes.
    const all = []; const walk = (n) => { all.push(n); n.children.forEach(walk); }; walk(root);
    if (all.length > 1) { const a = all[1 + rand(all.length - 1)], b = all[rand(all.length)];
      all.forEach((n) => { n.children = n.children.filter((c) => c !== a); });
      if (!(function inside(n) { return n === b || n.children.some(inside); })(a)) b.children.unshift(a); }
    all[rand(all.length)].children = [];
    all[rand(all.length)].children.push({id: next++, children: [{id: next++, children: []}]});
    ask();
    // Events: dependencies with targets [id, event], an id sometimes twice in one dependency, some empty names.
    const deps = [];
    for (let d = 0; d < 30; d++) { const targets = [];
      for (let k = 1 + rand(3); k > 0; k--) targets.push([rand(next), ['click', 'change', 'select', '', null][rand(5)]]);
      deps.push({targets}); }
    const oldHost = new OLD.Host(), newHost = new NEW.Host();
    for (let round2 = 0; round2 < 2; round2++) {
      for (let id = 0; id < next; id++) {
        const x = {id, props: {shared_props: {}}}, y = {id, props: {shared_props: {}}};
        oldHost.find_attached_events(x, deps); newHost.find_attached_events(y, deps); results.events++;
        if (JSON.stringify(x.props.shared_props.attached_events) !== JSON.stringify(y.props.shared_props.attached_events)) {
          results.mismatches.push(['events', round, id]); }
      }
      deps.push({targets: [[rand(next), 'submit']]});  // a dependency added later: the index is rebuilt
    }
  }
  return results;
}
"""


def _module(z_source: str, events_source: str) -> str:
    return f"(() => {{ {z_source}; class Host {{ {events_source} }}; return {{Z, Host}}; }})()"


def test_the_indexed_lookups_answer_as_gradios_own(chromium):
    page = chromium.new_page()
    try:
        page.evaluate(f"window.OLD = {_module(gradio_page.FIND_NODE_JS, gradio_page.ATTACHED_EVENTS_JS)}")
        page.evaluate(f"window.NEW = {_module(gradio_page.FIND_NODE_INDEXED_JS, gradio_page.ATTACHED_EVENTS_INDEXED_JS)}")
        for seed in (1, 7, 2026):
            results = page.evaluate(CHECK, seed)
            assert results["mismatches"] == [], results["mismatches"][:5]
            assert results["queries"] > 4000 and results["events"] > 500 and results["nodes"] > 200
    finally:
        page.close()
