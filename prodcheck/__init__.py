"""``make prod-check``: the topology of docker-compose.yml started on this machine as processes, then
driven through Airflow's REST API as an operator would (see prodcheck/__main__.py)."""
