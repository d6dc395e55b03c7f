// KGateWatch
