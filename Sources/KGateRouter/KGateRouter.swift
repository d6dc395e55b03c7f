// KGateRouter
