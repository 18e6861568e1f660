"""demos/common/gradio_page.py: the page's script with indexed lookups, and the page's HTML built once."""

from pathlib import Path

import gradio as gr
import httpx

from demos.common import gradio_page


def test_the_page_scripts_have_every_text_the_frontend_patches_replace():
    # indexed_frontend serves gradio's core-*.js and src-*.js with texts replaced; another gradio ships other text,
    # and then a script is served unchanged (this test says so, and the speed-up is gone).
    patched = gradio_page.frontend_scripts()
    for pattern, replacements in gradio_page.FRONTEND_PATCHES:
        names = [name for name, text in patched.items() if Path(name).match(pattern)
                 and all(old not in text and text.count(new) == 1 for old, new in replacements)]
        assert len(names) == 1, f"no gradio {pattern} has every text of {replacements[0][0][:40]!r}...; re-check"


def test_a_launched_app_serves_the_indexed_page_script_and_every_other_asset_as_is():
    import httpx

    from benchmarks.serving import free_port
    from gradio.routes import BUILD_PATH_LIB

    assert gradio_page.indexed_frontend() is True
    name, text = next((n, t) for n, t in gradio_page.frontend_scripts().items() if n.startswith("core-"))
    with gr.Blocks() as demo:
        gr.Markdown("patched")
    port = free_port()
    try:
        demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
        served = httpx.get(f"http://127.0.0.1:{port}/assets/{name}")
        assert served.status_code == 200 and served.text == text
        assert served.headers["content-type"].startswith("text/javascript")
        other = sorted(p.name for p in Path(BUILD_PATH_LIB).glob("Blocks-*.js"))[0]
        assert httpx.get(f"http://127.0.0.1:{port}/assets/{other}").content == (Path(BUILD_PATH_LIB) / other).read_bytes()
        assert httpx.get(f"http://127.0.0.1:{port}/assets/no-such-file.js").status_code == 404
    finally:
        demo.close()




def _launched(demo):
    from benchmarks.serving import free_port

    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    return f"http://127.0.0.1:{port}"


def test_the_page_and_static_files_are_built_once_and_served_as_gradio_built_them(monkeypatch):
    from gradio import route_utils, routes

    assert gradio_page.kept_answers() is True and gradio_page.kept_answers() is True  # idempotent
    monkeypatch.setattr(gradio_page, "_KEPT", gradio_page.BoundedMemo(16, 2**24, weigh=lambda a: len(a[1])))
    builds, files = [], []
    original = route_utils.update_root_in_config
    monkeypatch.setattr(route_utils, "update_root_in_config", lambda *a: builds.append(1) or original(*a))
    file_response = routes.file_response
    monkeypatch.setattr(routes, "file_response", lambda *a: files.append(a) or file_response(*a))
    with gr.Blocks() as demo:
        gr.Markdown("page")
        gr.Image(label="picture")
    url = _launched(demo)
    builds.clear()  # launch() checks the page with a HEAD request
    try:
        first, again = httpx.get(url + "/?tab=a"), httpx.get(url + "/?tab=a")
        assert first.status_code == again.status_code == 200 and len(builds) == 1
        assert again.text == first.text and again.headers["content-type"] == first.headers["content-type"]
        gradio_page._KEPT.clear()
        assert httpx.get(url + "/?tab=a").text == first.text and len(builds) == 2  # as gradio builds it now
        builds.clear()
        httpx.get(url + "/?tab=b")  # another URL: built for it
        assert len(builds) == 1
        proxied = httpx.get(url + "/?tab=a", headers={"x-forwarded-host": "example.org"})
        assert len(builds) == 2 and "example.org" in proxied.text and "example.org" not in first.text
        assert httpx.head(url + "/?tab=a").status_code == 200 and len(builds) == 3  # only GETs are kept

        script = next(name for name in gradio_page.frontend_scripts() if name.startswith("core-"))
        brotli = {"accept-encoding": "br"}
        one, two = (httpx.get(f"{url}/assets/{script}", headers=brotli) for _ in range(2))
        assert len(files) == 1 and one.status_code == two.status_code == 200
        assert one.content == two.content and dict(one.headers) == dict(two.headers)
        assert httpx.get(f"{url}/assets/{script}", headers={"accept-encoding": "identity"}).content == one.content
        assert len(files) == 2  # another encoding: answered by gradio, then kept too
        part = httpx.get(f"{url}/assets/{script}", headers={"range": "bytes=0-9", "accept-encoding": "identity"})
        assert len(files) == 3 and part.status_code in (200, 206)  # a partial request is passed on
        assert httpx.get(f"{url}/assets/no-such-file.js").status_code == 404
        assert httpx.get(f"{url}/assets/no-such-file.js").status_code == 404  # not kept: asked again
        assert len(files) == 5
    finally:
        demo.close()


def test_an_app_with_a_login_answers_every_request_itself():
    from gradio.routes import App

    gradio_page.kept_answers()
    with gr.Blocks() as demo:
        gr.Markdown("private")
    demo.auth = [("a", "b")]
    app = App.create_app(demo)
    assert not any(m.cls is gradio_page.KeptAnswers for m in app.user_middleware)
    with gr.Blocks() as public:
        gr.Markdown("public")
    assert any(m.cls is gradio_page.KeptAnswers for m in App.create_app(public).user_middleware)


def test_gradio_page_route_reads_only_what_the_cache_key_holds():
    # kept_answers keys a page on the path, the query and the headers gradio's root URL is made of: gradio's page
    # route must take nothing else (a login, a deep link and the page name come in through the user or the query).
    import inspect
    import re

    from gradio import route_utils
    from gradio.routes import App

    create_app = App.__dict__["create_app"].__func__
    source = inspect.getsource(getattr(create_app, "neurodeck_original", create_app))  # gradio's, patched or not
    start = source.index('@app.get("/", response_class=HTMLResponse)')
    signature = source[start: source.index("):", start)]
    assert re.findall(r"\n\s+(\w+):", signature) == ["request", "user", "page", "deep_link"]
    origin = inspect.getsource(route_utils.get_request_origin) + inspect.getsource(route_utils.get_root_url)
    read = set(re.findall(r'"(x-[a-z-]+)"', origin))
    assert read and read <= {h.decode() for h in gradio_page.KEY_HEADERS}


def test_the_page_embeds_its_config_without_api_descriptions_and_config_keeps_them():
    import json

    assert gradio_page.lean_page_config() is True and gradio_page.lean_page_config() is True
    with gr.Blocks() as demo:
        number = gr.Number(3, label="n")
        gr.Button().click(lambda x: x, number, gr.Number(), api_name="same")
    url = _launched(demo)
    try:
        page = httpx.get(url + "/").text
        embedded, _ = json.JSONDecoder().raw_decode(page, page.index("gradio_config = ") + len("gradio_config = "))
        served = httpx.get(url + "/config").json()
        by_id = {c["id"]: c for c in served["components"]}
        assert all(key in by_id[number._id] for key in gradio_page.API_KEYS)  # gradio_client's view: kept
        for component in embedded["components"]:
            assert not set(gradio_page.API_KEYS) & set(component)
            assert component == {k: v for k, v in by_id[component["id"]].items() if k not in gradio_page.API_KEYS}
        assert "/same" in page  # the page's API view still has its description (gradio_api_info)
    finally:
        demo.close()


def test_a_page_is_served_with_the_props_its_query_asks_for():
    import json

    assert gradio_page.lean_page_config() is True
    with gr.Blocks() as demo:
        with gr.Tabs() as tabs:
            with gr.Tab("A", id="a"):
                number = gr.Number(3, label="n")
            with gr.Tab("B", id="b"):
                gr.Markdown("b")
    asked = []

    def page_props(query):
        asked.append(dict(query))
        return {tabs._id: {"selected": "b"}, number._id: {"value": float(query["n"])}} if "n" in query else {}

    gradio_page.serve_with_props(demo, page_props)
    url = _launched(demo)

    def embedded(query: str) -> dict:
        page = httpx.get(url + "/" + query).text
        config, _ = json.JSONDecoder().raw_decode(page, page.index("gradio_config = ") + len("gradio_config = "))
        return {c["id"]: c["props"] for c in config["components"]}

    try:
        linked = embedded("?n=7")
        assert linked[tabs._id]["selected"] == "b" and linked[number._id]["value"] == 7.0
        assert linked[number._id]["label"] == "n"  # the other props as built
        plain = embedded("")
        assert plain[tabs._id].get("selected") is None and plain[number._id]["value"] == 3
        assert embedded("?other=1")[number._id]["value"] == 3
        assert embedded("?n=5&deep_link=abc")[number._id]["value"] == 3  # gradio's own deep link: as it is
        # every page asks (one without a link too; gradio's launch fetches "/" once), except gradio's deep link
        assert {"n": "7"} in asked and {"other": "1"} in asked and {} in asked
        assert not any("deep_link" in query for query in asked)
        served = {c["id"]: c["props"] for c in httpx.get(url + "/config?n=7").json()["components"]}
        assert served[tabs._id].get("selected") is None and served[number._id]["value"] == 3  # the API's view
    finally:
        demo.close()
