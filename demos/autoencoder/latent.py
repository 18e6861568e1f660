"""Autoencoder > Latent space: digits squeezed into 2 numbers. Click the map to decode a point, walk from one
digit to another, and see how reconstruction error falls as the bottleneck widens (against PCA)."""

from __future__ import annotations

import gradio as gr

from demos.autoencoder.shared import card, number, output_image
from demos.common.cards import result_card, show_card
from demos.common.contract import LinkParam, OnOpen, ViewHandles
from demos.common.errors import user_errors
from demos.common.limits import LONG_S, QUICK_S, STANDARD_S
from demos.common.memo import memoised
from engine.core.imports import IMPORT_LOCK
from engine.core.validation import check_number

LATENT_BOUND = 50.0  # the sliders' range before the map narrows it to the encoded digits (links are checked against it)
DECODE_HINT = "Click the map, or press Decode this point."
BOTTLENECK_HINT = "Computing the bottleneck comparison..."

ae_decode_card = card("decode_summary", DECODE_HINT)
ae_bottleneck_card = card("bottleneck_summary", BOTTLENECK_HINT)


# The opening's four results are the same for every visitor (drawn charts, ~70-190 ms each): kept per process (see
# demos.common.memo), the one map and chart, 4 points and 4 walks (each about 1 MB of pixels).
@user_errors
@memoised(capacity=1)
def ae_latent_map():
    """The 2-D map of the test digits; the sliders get its axis limits (their values are kept)."""
    with IMPORT_LOCK:
        from engine.autoencoder import latent
    image, (x_low, x_high), (y_low, y_high) = latent.map_view()
    return (image, gr.update(minimum=round(x_low, 3), maximum=round(x_high, 3)),
            gr.update(minimum=round(y_low, 3), maximum=round(y_high, 3)))


@user_errors
@memoised(capacity=4)
def ae_decode_latent(x=0.0, y=0.0):
    """Decode one point (x, y) of the 2-D latent space into an 8x8 digit.

    Returns the decoded digit, the latent map with the point marked, and the point with the nearest test digit.
    """
    x, y = number(x, "x", 0.0), number(y, "y", 0.0)
    with IMPORT_LOCK:
        from engine.autoencoder import latent
    return latent.decode_view(x, y)


@user_errors
def map_clicked(evt: gr.SelectData):
    """A click on the map: the clicked point in the sliders, decoded."""
    with IMPORT_LOCK:
        from engine.autoencoder import latent
    x, y = latent.click_to_latent(*evt.index)
    digit, image, info = latent.decode_view(x, y)
    return round(x, 3), round(y, 3), digit, image, info


@user_errors
@memoised(capacity=4)
def ae_interpolate(class_a=0, class_b=1, steps=8):
    """Walk the straight line in the latent space from a test digit of class_a to one of class_b.

    class_a and class_b are digits 0 to 9; steps (2 to 32) is the number of decoded points on the way. Returns
    the strip (start digit, decoded path, end digit), the map with the path, and the path's coordinates.
    """
    class_a = check_number(class_a, "from digit", 0, 9, whole=True, default=0)
    class_b = check_number(class_b, "to digit", 0, 9, whole=True, default=1)
    steps = check_number(steps, "steps", 2, 32, whole=True, default=8)
    with IMPORT_LOCK:
        from engine.autoencoder import latent
    return latent.interpolate_view(class_a, class_b, steps)


@user_errors
@memoised(capacity=1)
def ae_bottleneck():
    """Test reconstruction error per latent size (2 to 32), the autoencoders against PCA of the same size."""
    with IMPORT_LOCK:
        from engine.autoencoder import latent
    return latent.bottleneck_view()


def _layout():
    with gr.Tab("Latent space", id="ae-latent", elem_id="ae-latent-tab") as page:
        with gr.Row():
            with gr.Column(scale=3):
                map_image = gr.Image(label="2-D latent map of the test digits (click a point)", show_label=False,
                                     elem_id="ae-latent-map", interactive=False, format="png", buttons=[])
            with gr.Column(scale=2):
                with gr.Row():
                    x = gr.Slider(-LATENT_BOUND, LATENT_BOUND, value=0, step=0.01, label="latent z1", elem_id="ae-latent-x")
                    y = gr.Slider(-LATENT_BOUND, LATENT_BOUND, value=0, step=0.01, label="latent z2", elem_id="ae-latent-y")
                decode_button = gr.Button("Decode this point", variant="primary", elem_id="ae-decode-btn")
                decode_card = result_card("ae-decode-card", DECODE_HINT)
                decoded = output_image("Decoded digit", "ae-decoded", height=220)
                with gr.Accordion("Details (JSON)", open=False, elem_id="ae-decode-details", elem_classes=["nd-dev"]):
                    decode_info = gr.JSON(label="Point and nearest test digit", elem_id="ae-decode-info")
        gr.Markdown("#### Walk from one digit to another through the latent space")
        with gr.Row(equal_height=True):
            class_a = gr.Dropdown(list(range(10)), value=0, label="From digit", elem_id="ae-interp-a", min_width=120)
            class_b = gr.Dropdown(list(range(10)), value=1, label="To digit", elem_id="ae-interp-b", min_width=120)
            steps = gr.Slider(2, 16, value=8, step=1, precision=0, label="Steps", elem_id="ae-interp-steps", min_width=160)
            interp_button = gr.Button("Interpolate", variant="primary", elem_id="ae-interp-btn", min_width=140)
        strip = output_image("Start digit, decoded path, end digit", "ae-interp-strip")
        with gr.Accordion("Details (JSON)", open=False, elem_id="ae-interp-details", elem_classes=["nd-dev"]):
            interp_info = gr.JSON(label="The path's latent coordinates", elem_id="ae-interp-info")
        gr.Markdown("#### Bottleneck width vs reconstruction error (test digits), autoencoder vs PCA at the same size")
        bottleneck_card = result_card("ae-bottleneck-card", BOTTLENECK_HINT)
        bottleneck_plot = gr.Image(label="Reconstruction MSE vs latent size", show_label=False, elem_id="ae-bottleneck-plot",
                                   format="png", buttons=[], height=380, interactive=False)
        with gr.Accordion("Details (JSON)", open=False, elem_id="ae-bottleneck-details", elem_classes=["nd-dev"]):
            bottleneck_table = gr.JSON(label="MSE per latent size", elem_id="ae-bottleneck-table")
        gr.Markdown("An MLP autoencoder with a 2-D bottleneck, trained on scikit-learn's digits; the map shows the "
                    "encoded test digits (never trained on). Points between the clusters decode to blends of digits. "
                    "The chart repeats the training with 4, 8, 16 and 32 latent numbers.", elem_classes=["nd-explain"])
    return dict(page=page, map_image=map_image, x=x, y=y, decode_button=decode_button, decode_card=decode_card,
                decoded=decoded, decode_info=decode_info, class_a=class_a, class_b=class_b, steps=steps,
                interp_button=interp_button, strip=strip, interp_info=interp_info, bottleneck_card=bottleneck_card,
                bottleneck_plot=bottleneck_plot, bottleneck_table=bottleneck_table)


def _wire(w: dict) -> ViewHandles:
    point = (w["x"], w["y"])
    decoded = (w["decoded"], w["map_image"], w["decode_info"])
    walk = (w["class_a"], w["class_b"], w["steps"])
    walked = (w["strip"], w["map_image"], w["interp_info"])
    bottleneck = (w["bottleneck_plot"], w["bottleneck_table"])
    w["map_image"].select(map_clicked, None, [w["x"], w["y"], *decoded], api_visibility="private", time_limit=QUICK_S)
    w["decode_button"].click(ae_decode_latent, point, decoded, api_name="ae_decode_latent", preprocess=False,
                             time_limit=QUICK_S)
    w["interp_button"].click(ae_interpolate, walk, walked, api_name="ae_interpolate", preprocess=False,
                             time_limit=QUICK_S)
    show_card(w["decode_info"], w["decode_card"], ae_decode_card)
    show_card(w["bottleneck_table"], w["bottleneck_card"], ae_bottleneck_card)
    # One after another: the map, the point decoded, the walk from 0 to 1 (its path ends on the map), the chart.
    chart = OnOpen(ae_bottleneck, (), bottleneck, time_limit=LONG_S)
    walk_open = OnOpen(ae_interpolate, walk, walked, preprocess=False, time_limit=QUICK_S, then=(chart,))
    decode_open = OnOpen(ae_decode_latent, point, decoded, preprocess=False, time_limit=QUICK_S, then=(walk_open,))
    on_open = OnOpen(ae_latent_map, (), (w["map_image"], w["x"], w["y"]), time_limit=STANDARD_S, then=(decode_open,))
    return ViewHandles(
        tab="autoencoder", sub="latent", page=w["page"], result=w["map_image"], on_open=(on_open,),
        link=(LinkParam("x", w["x"]), LinkParam("y", w["y"]), LinkParam("from", w["class_a"]),
              LinkParam("to", w["class_b"]), LinkParam("steps", w["steps"])),
    )


def build(demo: gr.Blocks) -> ViewHandles:
    """The Latent space view (inside the Autoencoder tab's ``gr.Tabs``)."""
    return _wire(_layout())
