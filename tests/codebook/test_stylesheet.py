"""The code colours as CSS, without Django."""

from negotiations.codebook.stylesheet import codebook_stylesheet


def test_each_code_gets_its_swatch_and_both_stances():
    css = codebook_stylesheet([(3, "#a6cee3"), (12, "#1F78B4")])
    assert ".code-3 { --code-colour: #a6cee3; }" in css
    assert "::highlight(c12-for) { background-color: color-mix(in srgb, #1F78B4 55%" in css
    assert "::highlight(c12-against)" in css and "dashed" in css.split("c12-against")[1]


def test_anything_but_a_hex_colour_is_left_out():
    css = codebook_stylesheet(
        [
            (1, "red; } body { display: none"),
            (2, "#12345"),
            (3, "</style><script>"),
            ("4", "#000000"),
        ]
    )
    assert css == ""
