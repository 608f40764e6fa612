"""The geospatial edge: plot geometry, STAC search, COG reads, cloud masks, zonal statistics."""
