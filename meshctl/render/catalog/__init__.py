"""`meshctl catalog`: the mesh as a static site for people (issue 18).

``model`` builds each page's values from the spec (and the observed snapshot when live),
``access_map`` draws the SVG, ``site`` renders the Jinja2 templates shipped in ``templates/``
(autoescaped) into ``{relative path: text}``. Pure like the rest of ``render/``: only
``cli/catalog.py`` reads AWS (through the engine) and writes the files.
"""
