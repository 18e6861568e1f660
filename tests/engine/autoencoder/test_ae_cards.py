"""The Autoencoder tab's result cards say in plain words what the API's JSON holds."""

from __future__ import annotations

from engine.autoencoder import render


def _metrics(ae_psnr: float) -> dict:
    return {
        "noise": "gaussian", "level": 0.1, "seed": 0, "size": [512, 384], "resized_from": [2048, 1536],
        "noisy": {"psnr_db": 20.0, "ssim": 0.45},
        "autoencoder": {"psnr_db": ae_psnr, "ssim": 0.87, "psnr_gain_db": round(ae_psnr - 20.0, 2)},
        "gaussian_blur": {"psnr_db": 27.1, "ssim": 0.80, "sigma": 1.0, "sigma_from": "table"},
        "tv_chambolle": {"psnr_db": 28.0, "ssim": 0.83},
    }


def test_denoise_card_states_the_gain_and_the_best_baseline():
    card = render.denoise_summary(_metrics(29.9))
    assert card.headline == "Denoised: +9.9 dB over the noisy image, better than the best baseline (TV denoising: +8.0 dB)."
    assert card.tone == "good" and card.figures[0].value == "+9.9 dB"
    assert [f.label for f in card.figures][2:4] == ["Gaussian blur", "TV denoising"]
    assert "2048 x 1536" in card.figures[-1].note
    worse = render.denoise_summary(_metrics(27.5))
    assert "not as good as the best baseline" in worse.headline


def test_anomaly_cards_give_the_verdict():
    info = {"score": 5.21, "threshold": 2.3, "is_anomaly": True, "anomalous_pixel_fraction": 0.031,
            "texture_calibration": "brick"}
    defect = render.anomaly_summary(info)
    assert defect.headline.startswith("Defect found: score 5.21 is above the threshold 2.30") and defect.tone == "bad"
    assert defect.figures[2].value == "3.1%"
    normal = render.anomaly_summary({**info, "score": 1.2, "is_anomaly": False})
    assert normal.headline.startswith("Looks normal") and normal.tone == "good"
    evaluation = render.evaluation_summary({"threshold": 2.3, "image": {"precision": 0.9, "recall": 0.8, "f1": 0.85},
                                            "pixel": {"precision": 0.5, "recall": 0.6, "f1": 0.55},
                                            "image_auroc": 0.95, "pixel_auroc": 0.97, "eval_images": 48})
    assert "80% of the defective images" in evaluation.headline


def test_bottleneck_card_counts_the_wins():
    table = {"2": {"autoencoder_mse": 0.04, "pca_mse": 0.05, "autoencoder_beats_pca": True},
             "16": {"autoencoder_mse": 0.01, "pca_mse": 0.009, "autoencoder_beats_pca": False}}
    card = render.bottleneck_summary(table)
    assert "beats PCA at 1 of 2" in card.headline and [f.label for f in card.figures] == ["2 numbers", "16 numbers"]
