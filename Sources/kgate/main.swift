import KGateCLI

await KGateCommand.launch()
