"""Everything that talks to the outside: clouds (libcloud compute), object storage
for checkpoints (libcloud storage), price catalogs, billing files, and the local and
simulated clouds. The rest of skybatch sees only the ports in ``adapters.base``."""
