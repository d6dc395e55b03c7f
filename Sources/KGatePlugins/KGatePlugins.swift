// KGatePlugins
