// KGateSettings
