"""cashsim: calibrated Monte Carlo forecasts of customer collections against a smoothed cash target.

Data flows one way (see docs/design.md):
files -> ledger -> behaviour -> levers -> simulate -> targets / kpi -> compare -> plots -> report / panel.
"""

__version__ = "0.1.0"
