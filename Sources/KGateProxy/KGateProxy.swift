// KGateProxy
