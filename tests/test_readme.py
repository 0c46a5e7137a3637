"The README renders on a code host: Markdown only, generated from nbs/index.ipynb."
from pathlib import Path

README = Path(__file__).resolve().parent.parent/'README.md'

def test_readme_has_no_html_tables_or_styles():
    text = README.read_text(encoding='utf-8')
    assert '<style' not in text and '<table' not in text, 'README.md carries HTML tables or styles: make_readme.py should write DataFrames as Markdown tables'
    assert '](nbs/00_data.ipynb)' in text, "README.md's Start link does not reach the first lesson from the repository's root"
