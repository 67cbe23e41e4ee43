"""Bayesian uncertainty estimates (MC dropout) and the class margins derived from them."""
