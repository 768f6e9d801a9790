"""Validation with pydantic: JSON bodies, query strings and forms, parsed into models before the handler.

Run it, then: curl -d '{"name":"tie","price":9.5}' http://127.0.0.1:8000/items
"""

from pydantic import BaseModel, Field
from pynecktie import Necktie, validate
from pynecktie.response import json

app = Necktie("validation")


class Item(BaseModel):
    name: str = Field(min_length=1)
    price: float = Field(gt=0)
    tags: list[str] = []


class Search(BaseModel):
    q: str
    page: int = 1
    tag: list[str] = []


class Signup(BaseModel):
    email: str
    age: int


@app.post("/items")
@validate(json=Item)
async def create_item(request, body: Item):
    """The parsed Item arrives as `body`; `json()` serializes models."""
    return json(body, status=201)


@app.get("/search")
@validate(query=Search)
async def search(request, query: Search):
    """Repeated query fields fill list fields: ?q=x&tag=a&tag=b."""
    return json({"q": query.q, "page": query.page, "tags": query.tag})


@app.post("/signup")
@validate(form=Signup)
async def signup(request, form: Signup):
    """A url-encoded or multipart form, injected by annotation (any parameter name)."""
    return json({"email": form.email, "adult": form.age >= 18})


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
