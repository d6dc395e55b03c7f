// KGateStore
