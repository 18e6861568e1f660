"""The page's own rules: header, presenter mode, phones, pixel art. Result cards carry their own (demos.common.cards);
each tab package may add its own ``CSS``."""

CSS = """
/* Tabs that do not fit (a phone) go to Gradio's overflow menu: it says what it is instead of an unlabelled
   "...", and on a phone tighter tabs leave more of them in view (the hidden measuring row gets the same padding). */
.overflow-menu > button { width: auto !important; display: inline-flex !important; align-items: center; gap: 4px;
  padding: 0 8px !important; border: 1px solid var(--border-color-primary, #d4d4d8); border-radius: 6px; }
.overflow-menu > button::after { content: "More tabs"; font-size: var(--text-md, 14px); white-space: nowrap; }
/* Small generated images (8x8 to 128 px) are shown enlarged with crisp pixels, never blurred. */
#gan-gallery img, #gan-interp-strip img, #gan-walk-image img, #gan-walk-strip img, #gan-live-samples img,
#gan-sketch-history img { image-rendering: pixelated; }
/* The GAN sketchpad is white ink on black: the editor's own Clear leaves a white canvas on which white ink
   is invisible, so the tab's "Blank canvas" button (black) replaces it. */
#gan-sketch button[aria-label='Clear canvas'] { display: none !important; }

/* The header is one short bar, so a result is in view at 1280x720 without scrolling. */
.nd-header h1 { margin: 0; font-size: 1.9em; line-height: 1.2; }
.nd-tagline { display: block; font-size: 0.95rem; line-height: 1.3; font-weight: 400; color: var(--body-text-color-subdued); }
#nd-stage-bar { align-items: center; gap: 8px; }
#nd-link-box textarea { padding: 2px 8px; font-size: 13px; font-family: monospace; }
#nd-link-box:has(textarea:placeholder-shown) { visibility: hidden; }  /* until 'Copy link' writes one */
#nd-copy-link { white-space: nowrap; }
#nd-notice:has(span.md:empty) { display: none; }
.nd-notice { color: #8a5a00; }
.nd-intro { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 8px; }
.nd-intro-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 4px 10px; font-size: 0.9em;
  line-height: 1.25; }
@media (max-width: 900px) { .nd-intro { grid-template-columns: repeat(2, minmax(0, 1fr)); } }

/* A result whose event failed is stale: dimmed under gradio's error pill, never shown as if it were current. */
.block:has(> .wrap:not(.hide) > span.error) > :not(.wrap) { opacity: 0.25; filter: grayscale(1); }

/* Phone: the bar is one line (title, presenter, copy), the tagline and the four intro cards give their room to
   the first result, and each tab's intro is one line. */
@media (max-width: 640px) {
  .tab-container > button { padding-left: 8px !important; padding-right: 8px !important; }
  #nd-stage-bar { flex-wrap: wrap !important; gap: 4px 8px; }
  #nd-title { min-width: 0 !important; flex: 1 1 100% !important; }
  .nd-header h1 { font-size: 1.4em; }
  .nd-tagline, #nd-header { display: none !important; }
  #nd-presenter, #nd-copy-link { min-width: 0 !important; flex: 0 0 auto !important; }
  #nd-link-box { flex: 1 1 100% !important; min-width: 0 !important; }
  #nd-link-box:has(textarea:placeholder-shown) { display: none; }
  .nd-intro-text p:first-of-type { display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }
  .nd-intro-text p:first-of-type ~ * { display: none !important; }
}

/* Presenter mode (class on <html> and <body>, set from the address bar before the page renders): everything
   larger (Gradio's type scale, cards, charts), every label that matters >= 18 px, intros one line,
   explanations and developer details hidden. */
.nd-presenter .gradio-container {
  --text-xxs: 18px; --text-xs: 18px; --text-sm: 18px; --text-md: 20px; --text-lg: 24px; --text-xl: 30px; --text-xxl: 36px;
  --block-label-text-size: 18px; --block-title-text-size: 20px; --button-large-text-size: 24px; --button-small-text-size: 20px;
  --prose-text-size: 20px; --input-text-size: 20px; --checkbox-label-text-size: 20px; --section-header-text-size: 20px;
  --nd-scale: 1.3;
}
.nd-presenter .gradio-container .prose, .nd-presenter .gradio-container .prose * { font-size: 20px; }
.nd-presenter .gradio-container .prose h1 { font-size: 36px; }
.nd-presenter .gradio-container .prose h2, .nd-presenter .gradio-container .prose h3 { font-size: 24px; }
.nd-presenter .gradio-container [role=tab], .nd-presenter .gradio-container .tab-container button { font-size: 20px !important; }
.nd-presenter #nd-presenter label, .nd-presenter #nd-presenter span { font-size: 20px !important; }
.nd-presenter #nd-copy-link { font-size: 20px !important; }
.nd-presenter .nd-card-value { font-size: 34px !important; overflow-wrap: break-word; hyphens: auto; }
.nd-presenter .js-plotly-plot .main-svg text { font-size: 18px !important; }
.nd-presenter table, .nd-presenter td, .nd-presenter th { font-size: 18px !important; }
.nd-presenter .nd-dev, .nd-presenter #nd-header, .nd-presenter .nd-tagline, .nd-presenter .nd-explain { display: none !important; }
.nd-presenter .nd-intro-text p:first-of-type { white-space: nowrap !important; overflow: hidden; text-overflow: ellipsis;
  margin: 0 !important; }
.nd-presenter .nd-intro-text p:first-of-type ~ *, .nd-presenter .nd-intro-text h2, .nd-presenter .nd-intro-text h3 {
  display: none !important; }
"""
