// KGateServer
