"""TechEmpower's database tests as Django views, the way Django's docs teach: the ORM's
`get`/`all`, `JsonResponse`, a template for the fortunes (Django escapes it), and
`bulk_update` for `/updates` (one UPDATE ... CASE statement for the batch)."""

import random

from django.http import JsonResponse
from django.shortcuts import render

from .models import Fortune, World


def _q(request):
    try:
        q = int(request.GET.get("q", "1"))
    except ValueError:
        return 1
    return min(max(q, 1), 500)


def _as_json(w):
    return {"id": w.id, "randomNumber": w.randomnumber}


def db(request):
    return JsonResponse(_as_json(World.objects.get(id=random.randint(1, 10000))))


def queries(request):
    worlds = [World.objects.get(id=random.randint(1, 10000)) for _ in range(_q(request))]
    return JsonResponse([_as_json(w) for w in worlds], safe=False)


def fortunes(request):
    rows = list(Fortune.objects.all())
    rows.append(Fortune(id=0, message="Additional fortune added at request time."))
    rows.sort(key=lambda f: f.message)
    return render(request, "fortunes.html", {"fortunes": rows})


def updates(request):
    # Ascending, as every server of the suite does: concurrent batches then lock rows in one
    # order (random orders deadlock now and then).
    ids = sorted(random.sample(range(1, 10001), _q(request)))
    worlds = [World.objects.get(id=i) for i in ids]
    for w in worlds:
        w.randomnumber = random.randint(1, 10000)
    World.objects.bulk_update(worlds, ["randomnumber"])
    return JsonResponse([_as_json(w) for w in worlds], safe=False)
