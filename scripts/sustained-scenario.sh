# Sourced by the benchmark scripts: the sustained scenario they all measure, a counter
# per hot note raced with If-Match against the reference server.
#
#   sustained_scenario NAME TARGET CONNECTIONS RESOURCES DURATION > FILE

sustained_scenario() {
  cat <<TOML
name = "$1"
target = "$2"

[workload]
kind = "sustained"
connections = $3
resources = $4
duration = "$5"

[resource]
create = { method = "POST", path = "/notes", json = { count = 0 }, expect = [201], id = "header:Location" }
read = { method = "GET", path = "{id}" }
version = "header:ETag"
value = "json:/count"

[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}" }
json = { count = "{next}", by = "{marker}" }

[expect]
winner = [200, 204]
conflict = [412]
TOML
}
