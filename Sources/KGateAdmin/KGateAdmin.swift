// KGateAdmin
