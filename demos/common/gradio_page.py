"""How gradio 6.31.0 serves the page: its HTML and its script. The other patches, and why patches at all, are in
:mod:`demos.common.gradio_patches`; ``tests/demos/test_gradio_patches.py`` fails when what these copy changes.

- :func:`indexed_frontend`: two lookups in gradio's page script (``core-*.js``) scan the whole component tree or
  every event for each component, each event target and each event input: O(components x events) work, ~1 s of
  a page's 2-3 s of CPU with this app's 1,000 components and 250 events. The served script answers both from
  an index and gives the same answers. A third change stops a deep copy of every component's data where gradio
  keeps three of its keys (see :data:`COPY_BACK_JS`).
- :func:`kept_answers`: every visit rebuilt the page from the config (a deep copy of all ~1,000 components'
  configs, a walk over them to set file URLs, the API description, then 1.5 MB of HTML: ~0.3 s of CPU) and
  served gradio's ~120 static files through the whole middleware stack, compressing each again (~0.4 s of CPU),
  the same bytes for every visitor. Both are answered from memory once answered, per URL and per request
  header they depend on.
- :func:`lean_page_config`: the config embedded in the page holds every component's API description, which no
  page script reads (~40% of it).
"""

from __future__ import annotations

from pathlib import Path

from demos.common.lazy import BoundedMemo

# The two functions of gradio 6.31.0's frontend/assets/core-*.js that indexed_frontend() replaces, as shipped
# (minified), and their replacements. find_attached_events(node, dependencies): the event names of every
# dependency that targets the node (each dependency's first target with that id), in dependency order. Z(root, id):
# the first node with that id in a depth-first walk of the component tree, else null.
ATTACHED_EVENTS_JS = ("find_attached_events(e,t){let n=t.filter(t=>t.targets.find(([t])=>t===e.id)).map(t=>{let n="
                      "t.targets.find(([t])=>t===e.id);return n?n[1]:null}).filter(Boolean);return e.props.shared_props"
                      ".attached_events=n,e}")
# One pass over the dependencies builds id -> event names; rebuilt when the array or its length changes.
ATTACHED_EVENTS_INDEXED_JS = (
    "find_attached_events(e,t){let c=this.__ndEvents;if(!c||c.deps!==t||c.n!==t.length){let m=new Map;"
    "for(let d of t){let s=new Set;for(let[i,v]of d.targets){if(s.has(i))continue;s.add(i);if(!v)continue;"
    "let a=m.get(i);a?a.push(v):m.set(i,[v])}}c=this.__ndEvents={deps:t,n:t.length,map:m}}"
    "return e.props.shared_props.attached_events=(c.map.get(e.id)||[]).slice(),e}")
FIND_NODE_JS = "function Z(e,t){if(e.id===t)return e;if(e.children)for(let n of e.children){let e=Z(n,t);if(e)return e}return null}"
# Each id's path (child indices) from the root, kept per root. A hit is checked against the tree as it is now (the
# node at that path has that id, and ids are unique), so a changed tree never gives a wrong node: a miss falls
# back to gradio's own walk, and re-indexes when that walk finds the node somewhere else. A null id (gradio asks for
# one ~130 times while a page opens, each a walk of the whole tree, ~140 ms in all) names no node: every node's id
# is a number.
FIND_NODE_INDEXED_JS = (
    "function __ndDfs(e,t){if(e.id===t)return e;if(e.children)for(let n of e.children){let e=__ndDfs(n,t);if(e)return e}"
    "return null}const __ndPaths=new WeakMap;function __ndIndex(e){let m=new Map,w=(x,p)=>{m.has(x.id)||m.set(x.id,p);"
    "if(x.children)for(let i=0;i<x.children.length;i++)w(x.children[i],p.concat(i))};w(e,[]);__ndPaths.set(e,m);return m}"
    "function __ndWalk(e,p){if(!p)return null;let x=e;for(let i of p){x=x.children&&x.children[i];if(!x)return null}"
    "return x}function Z(e,t){if(t==null)return null;let m=__ndPaths.get(e)||__ndIndex(e),x=__ndWalk(e,m.get(t));"
    "if(x&&x.id===t)return x;"
    "x=__ndDfs(e,t);x&&__ndIndex(e);return x}")
# core-*.js copies each mounted component's value / open / selected back into the tree (#m, for every component of
# a subtree whose visibility or props change) from the component's get_data(): a deep snapshot of ALL its props
# (figures, galleries, texts), ~0.5 s of a page's CPU here, to keep three keys. It now asks for those keys, and
# the components' base class (src-*.js) snapshots only them; a component that overrides get_data (an image waits
# for its upload, say) ignores the argument and answers as before.
COPY_BACK_JS = "let r=await n();if(!r)return;let i={};for(let e of Te)e in r&&(i[e]=r[e]);ke(t,i)"
COPY_BACK_KEYS_JS = "let r=await n(Te);if(!r)return;let i={};for(let e of Te)e in r&&(i[e]=r[e]);ke(t,i)"
GET_DATA_JS = "async get_data(){return c(this.props)}"
GET_DATA_KEYS_JS = ("async get_data(k){if(!Array.isArray(k))return c(this.props);let o={};"
                    "for(let n of k)n in this.props&&(o[n]=c(this.props[n]));return o}")
# #h(node) runs #m for every node under a node whose props change (a tab selected, a column shown): one awaited call
# per node, through reactive proxies, for hundreds of nodes, most with nothing to copy. It now walks the subtree
# once and awaits #m only for the mounted ones (those with a get_data), in the same order.
SUBTREE_COPY_BACK_JS = "async#h(e){for(let t of e.children)await this.#m(t.id,t),await this.#h(t)}"
SUBTREE_COPY_BACK_MOUNTED_JS = ("async#h(e){let s=[],w=x=>{for(let t of x.children||[])this.#s.has(t.id)&&s.push(t),w(t)};"
                                "w(e);for(let t of s)await this.#m(t.id,t)}")
# get_state(id) looked the id up in the whole tree even when the component answers for itself (its get_data).
GET_STATE_JS = ("async get_state(e){let t=this.#s.get(e),n=Z(this.root,e);return!t&&!n?null:t?await t():n?Promise."
                "resolve({value:n.props.props.value}):null}")
GET_STATE_MOUNTED_JS = ("async get_state(e){let t=this.#s.get(e);if(t)return await t();let n=Z(this.root,e);"
                        "return n?{value:n.props.props.value}:null}")
# The image's and the gallery's own get_data (they first wait for an upload) pass the keys on.
IMAGE_GET_DATA_JS = "let e=await super.get_data();return n.props.streaming&&(e.value=a.value),e"
IMAGE_GET_DATA_KEYS_JS = "let e=await super.get_data(...arguments);return n.props.streaming&&(e.value=a.value),e"
GALLERY_GET_DATA_JS = "return f(j)&&(await f(j),await y()),await super.get_data()}"
GALLERY_GET_DATA_KEYS_JS = "return f(j)&&(await f(j),await y()),await super.get_data(...arguments)}"
# The image editor (Sketchpad) hands over its value by uploading each of its images again: one it has not been drawn
# on fetches its background and layers from the server and uploads them back. gradio asks for that value for every
# copy-back above, ~150 times while the Variational view opens (~300 uploads). An image that is already a file on
# the server (a path, no blob) is now handed over as it is; a drawing (a blob) is uploaded as before.
EDITOR_FILE_JS = "async function O(e,t){if(!e)return null;let r=e.blob;if(!r){"
EDITOR_FILE_KEPT_JS = "async function O(e,t){if(!e)return null;let r=e.blob;if(!r&&e.path)return e;if(!r){"
# (file pattern in gradio's frontend/assets, ((as shipped, as served), ...)): each file is patched only when it has
# every text of its list exactly once; otherwise (another gradio) it is served unchanged.
FRONTEND_PATCHES = (
    ("core-*.js", ((ATTACHED_EVENTS_JS, ATTACHED_EVENTS_INDEXED_JS), (FIND_NODE_JS, FIND_NODE_INDEXED_JS),
                   (COPY_BACK_JS, COPY_BACK_KEYS_JS), (SUBTREE_COPY_BACK_JS, SUBTREE_COPY_BACK_MOUNTED_JS),
                   (GET_STATE_JS, GET_STATE_MOUNTED_JS))),
    ("src-*.js", ((GET_DATA_JS, GET_DATA_KEYS_JS),)),
    ("Index-*.js", ((IMAGE_GET_DATA_JS, IMAGE_GET_DATA_KEYS_JS),)),
    ("Index-*.js", ((GALLERY_GET_DATA_JS, GALLERY_GET_DATA_KEYS_JS),)),
    ("Index-*.js", ((EDITOR_FILE_JS, EDITOR_FILE_KEPT_JS),)),
)


def frontend_scripts() -> dict[str, str]:
    """{file name: patched text} of each gradio script :data:`FRONTEND_PATCHES` applies to."""
    from gradio.routes import BUILD_PATH_LIB

    patched = {}
    for pattern, replacements in FRONTEND_PATCHES:
        for path in sorted(Path(BUILD_PATH_LIB).glob(pattern)):
            text = path.read_text(encoding="utf-8")
            if all(text.count(old) == 1 for old, _ in replacements):
                for old, new in replacements:
                    text = text.replace(old, new)
                patched[path.name] = text
    return patched


def indexed_frontend() -> bool:
    """Serve gradio's page scripts patched (see the module's docstring). True when at least one is."""
    from gradio import routes
    from starlette.responses import Response

    if getattr(routes.file_response, "neurodeck", False):
        return True
    bodies = {name: text.encode("utf-8") for name, text in frontend_scripts().items()}
    if not bodies:
        return False
    file_response = routes.file_response

    def indexed_file_response(developer_path, user_path):
        body = bodies.get(str(user_path))
        if body is not None and Path(str(developer_path)) == Path(str(routes.BUILD_PATH_LIB)):
            return Response(body, media_type="text/javascript")
        return file_response(developer_path, user_path)

    indexed_file_response.neurodeck = True
    routes.file_response = indexed_file_response
    return True


API_KEYS = ("api_info", "api_info_as_input", "api_info_as_output", "example_inputs")  # no page script reads them


PAGE_PROPS = "neurodeck_page_props"  # the Blocks attribute serve_with_props sets


def serve_with_props(blocks, page_props) -> None:
    """Serve ``blocks``' page with ``page_props(query)`` applied to its embedded config: a mapping of component id
    to props (``{"value": ...}``, a Tabs' ``{"selected": ...}``) from the page's query parameters. The page then
    mounts what a link asks for, instead of mounting the default and switching once its load has answered. Takes
    effect through :func:`lean_page_config`'s filter; a page with gradio's own ``deep_link`` is served as it is."""
    setattr(blocks, PAGE_PROPS, page_props)


def _with_props(components: list, request) -> list:
    page_props = getattr(request.app.get_blocks(), PAGE_PROPS, None) if request is not None else None
    if page_props is None or "deep_link" in request.query_params:
        return components
    props = page_props(request.query_params)
    if not props:
        return components
    return [dict(c, props={**c.get("props", {}), **props[c.get("id")]}) if isinstance(c, dict) and c.get("id") in props
            else c for c in components]


def lean_page_config() -> bool:
    """The page embeds its config without each component's API description (:data:`API_KEYS`, ~480 KB of this app's
    1.26 MB): the page's scripts never read them; gradio_client reads them from ``/config``, which keeps them, and
    the page's API view from ``gradio_api_info``. Also applies :func:`serve_with_props`. Wraps gradio's ``toorjson``
    template filter. True when installed."""
    import jinja2
    from gradio import routes

    filters = routes.templates.env.filters
    toorjson = filters["toorjson"]
    if getattr(toorjson, "neurodeck_lean", False):
        return True

    @jinja2.pass_context
    def lean_toorjson(context, value):
        if isinstance(value, dict) and isinstance(value.get("components"), list):
            components = [{k: v for k, v in c.items() if k not in API_KEYS} if isinstance(c, dict) else c
                          for c in value["components"]]
            value = dict(value, components=_with_props(components, context.get("request")))
        return toorjson(value)

    lean_toorjson.neurodeck_lean = True
    filters["toorjson"] = lean_toorjson
    if routes.templates.env.cache is not None:
        routes.templates.env.cache.clear()  # a template compiled with the old filter would not pass the context to it
    return True


# What a kept answer depends on besides its path and query: the headers gradio reads for its root URL, the
# encoding the answer was compressed with (gradio's Brotli middleware) and the origin (its CORS middleware).
KEY_HEADERS = (b"host", b"x-forwarded-host", b"x-forwarded-proto", b"x-gradio-server", b"forwarded",
               b"accept-encoding", b"origin")
# A request with one of these is passed on: a partial or conditional answer, or a visitor who may be logged in.
PASS_HEADERS = (b"range", b"if-none-match", b"if-modified-since", b"authorization", b"cookie")
KEPT_PATHS = ("/assets/", "/static/")  # gradio's own build (hashed names) and its fonts: the same bytes for all
KEPT_FILES = ("/", "/theme.css", "/favicon.ico")  # the page (rebuilt from the config per visit), its theme, its icon
KEPT_ANSWERS, KEPT_BYTES, LARGEST_KEPT = 512, 64 * 2**20, 4 * 2**20  # ~3 MB per kind of visitor (encoding)
_KEPT = BoundedMemo(KEPT_ANSWERS, KEPT_BYTES, weigh=lambda answer: len(answer[1]))


def _answer_key(scope) -> tuple | None:
    """The key of a GET the app answers the same way for everyone (see :data:`KEPT_PATHS`), else None."""
    if scope.get("type") != "http" or scope.get("method") != "GET":
        return None
    path, query = scope.get("path", ""), scope.get("query_string", b"")
    if not (path.startswith(KEPT_PATHS) or path in KEPT_FILES) or b"deep_link" in query:  # a deep link holds state
        return None
    headers = scope.get("headers", ())
    if any(name in PASS_HEADERS for name, _ in headers):
        return None
    kept = tuple(sorted((name, value) for name, value in headers if name in KEY_HEADERS))
    return scope.get("scheme"), scope.get("root_path", ""), path, query, kept


def _keep(key, start: dict, body: bytes) -> None:
    if len(body) <= LARGEST_KEPT and not any(name.lower() == b"set-cookie" for name, _ in start.get("headers", ())):
        _KEPT.put(key, (start, body))


class KeptAnswers:
    """ASGI middleware, outermost: the page and gradio's static files answered from memory once answered.

    The first GET of each key goes through gradio as usual and its successful answer (status 200, complete, no
    cookie) is kept, already compressed for that ``accept-encoding``; later ones are sent as kept."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        key = _answer_key(scope)
        kept = _KEPT.get(key) if key is not None else None
        if kept is not None:
            start, body = kept
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        if key is None:
            await self.app(scope, receive, send)
            return
        messages = []

        async def recording(message):
            messages.append(message)
            await send(message)

        await self.app(scope, receive, recording)
        starts = [m for m in messages if m["type"] == "http.response.start"]
        bodies = [m for m in messages if m["type"] == "http.response.body"]
        if len(starts) == 1 and starts[0].get("status") == 200 and bodies and not bodies[-1].get("more_body", False):
            _keep(key, starts[0], b"".join(m.get("body", b"") for m in bodies))


def kept_answers() -> bool:
    """Answer the page and gradio's static files from memory (see the module docstring): adds :class:`KeptAnswers`
    to each FastAPI app gradio builds (``App.create_app``) without a login. True when installed."""
    from gradio.routes import App

    create_app = App.__dict__["create_app"]
    if getattr(create_app.__func__, "neurodeck_kept_answers", False):
        return True

    def create_app_with_kept_answers(blocks, *args, **kwargs):
        app = create_app.__func__(blocks, *args, **kwargs)
        if app is not None and getattr(app, "auth", None) is None and getattr(app, "auth_dependency", None) is None:
            app.add_middleware(KeptAnswers)  # added last: outermost
        return app

    create_app_with_kept_answers.neurodeck_kept_answers = True
    create_app_with_kept_answers.neurodeck_original = create_app.__func__
    App.create_app = staticmethod(create_app_with_kept_answers)
    return True
