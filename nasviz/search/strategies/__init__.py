"""Search strategies behind the ask/tell interface of :mod:`nasviz.search.base`."""
