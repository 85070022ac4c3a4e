"""Document -> text for people and pipes; the terminal sanitizer lives here.

Importing this package imports nothing: `sanitize`, `text` and `console` never import Rich, and `rich_view` /
`stream_view` (which do) are imported only when a Rich view is drawn.
"""
