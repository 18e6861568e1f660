"""demos.common.lazy: the containers behind two gradio patches."""

import threading

from demos.common.lazy import BoundedMemo, LazyDict


def test_lazy_dict_builds_each_value_once_when_first_read_and_behaves_as_a_dict():
    built = []

    def build(key, source):
        built.append(key)
        return source * 10

    lazy = LazyDict(build, {1: 1, 2: 2, 3: 3})
    assert len(lazy) == 3 and 2 in lazy and 4 not in lazy and built == []
    assert lazy[2] == 20 and lazy[2] == 20 and lazy.get(3) == 30 and built == [2, 3]
    assert lazy.get(4, "none") == "none"
    lazy[1] = "set"  # a write replaces the source: it is never built
    assert lazy[1] == "set" and built == [2, 3]
    lazy[5] = 50
    assert len(lazy) == 4 and 5 in lazy
    del lazy[3]
    assert 3 not in lazy and len(lazy) == 3
    assert dict(lazy.items()) == {1: "set", 2: 20, 5: 50} and built == [2, 3]


def test_lazy_dict_iteration_builds_the_rest():
    lazy = LazyDict(lambda key, source: source + 1, {"a": 1, "b": 2})
    assert sorted(lazy) == ["a", "b"] and sorted(lazy.values()) == [2, 3] and sorted(lazy.keys()) == ["a", "b"]


def test_bounded_memo_keeps_the_most_recently_used_entries():
    memo = BoundedMemo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1  # "a" is now the most recent
    memo.put("c", 3)
    assert memo.get("b") is None and memo.get("a") == 1 and memo.get("c") == 3


def test_bounded_memo_stays_bounded_under_threads():
    memo = BoundedMemo(50)

    def fill(offset):
        for i in range(500):
            memo.put(offset + i, i)
            memo.get(offset + i // 2)

    threads = [threading.Thread(target=fill, args=(n * 1000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(memo.entries) == 50


def test_bounded_memo_keeps_at_most_its_weight():
    memo = BoundedMemo(10, max_weight=10, weigh=len)
    memo.put("a", "xxxx")
    memo.put("b", "yyyy")
    memo.put("c", "zzzz")  # 12 > 10: the oldest goes
    assert memo.get("a") is None and memo.get("b") == "yyyy" and memo.weight == 8
    memo.put("big", "w" * 11)  # heavier than the bound on its own: not kept, nothing dropped
    assert memo.get("big") is None and memo.get("b") == "yyyy" and memo.get("c") == "zzzz"
    memo.put("b", "y")  # replaced: its old weight is given back
    assert memo.weight == 5


def test_bounded_memo_tells_a_kept_none_from_a_missing_key_and_clears():
    memo = BoundedMemo(4, max_weight=10, weigh=lambda v: 3)
    missing = object()
    memo.put("none", None)
    memo.put("three", 3)
    assert memo.get("none", missing) is None and memo.get("absent", missing) is missing and len(memo) == 2
    memo.clear()
    assert len(memo) == 0 and memo.weight == 0 and memo.get("three") is None
