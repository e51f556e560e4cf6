"""`ftdata validate --html`: the validation report as one self-contained page (`page.html_report`), its charts
(`charts`) and its inline style and script (`assets`). Builds text only; `ftdata.io.staging` writes it."""
