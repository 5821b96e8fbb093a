"""Task Tokens: train one task encoder whose token steers a frozen BFM (arXiv 2503.22886)."""
