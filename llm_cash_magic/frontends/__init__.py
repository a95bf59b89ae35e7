"""Where people meet the pipeline: the ``%%cash`` magic and its line options, the terminal tables,
the ipywidgets panel and its editors, and the Jupyter server extension behind the sidebar.
Frontends decide where text goes; nothing in the stages below imports them."""
