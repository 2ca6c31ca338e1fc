"""Whole networks: a model against an architecture spec (:mod:`.model`), the reference models'
claims (:mod:`.reference_claims`), and claims on trained weights (:mod:`.trained_claims`)."""
