"""Offline work, apart from the live path: recorded sessions judged against reviewers' labels
(``evaluation``), policies searched against them (``calibration``), labels and reviews as labels
(``labels``, ``reviews``), the vision stage run over images or videos (``analysis``: ``integrity analyze``)
and its accuracy on images with known truth (``accuracy``).

Nothing here runs in a worker; the agents never import it."""
