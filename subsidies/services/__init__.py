"""Writes and computations of the subsidy domain, one module per subdomain.

* ``calculation`` — the per-loan interest and premium subsidy (pure);
* ``claims`` — one claim per loan, created on repayment, renewal or maturity;
* ``batches`` — payment batches: make, approve (four eyes), mark paid;
* ``allocation`` — the county subsidy allocation (pure core, database read, freeze);
* ``exact`` — the exact arithmetic and the one rounding to the fen they share.
"""
