// placeholder until this layer has sources
