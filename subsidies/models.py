# Subsidy claims and payment batches arrive with the subsidies issue; the per-loan
# computation lives in subsidies.services.calculation.
