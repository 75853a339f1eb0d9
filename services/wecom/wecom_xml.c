//  Callback XML → JSON with WeCom's names, through libxml2. Entities are
//  not substituted, no DTD or network is loaded (no XXE), and a document
//  with a document type is refused: WeCom's callbacks are flat elements
//  with CDATA text, one list (MemChangeList).
#include "wecom.h"
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

#define S_XML_OPTS (XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

//  A document with a document type is refused: WeCom never sends one, and
//  it is the only way to declare an entity. Even unsubstituted, reading
//  an element's text expands entities (xmlNodeGetContent), so one
//  callback of nested or repeated entities, before its signature is
//  checked, could make megabytes into gigabytes.
static xmlDocPtr s_read (const char *body, size_t len)
{
    if (!body || len == 0 || len > (size_t) INT32_MAX)
        return NULL;
    xmlDocPtr doc = xmlReadMemory (body, (int) len, "callback.xml", "UTF-8", S_XML_OPTS);
    if (doc && (doc->intSubset || doc->extSubset)) {
        xmlFreeDoc (doc);
        return NULL;
    }
    return doc;
}

//  The text of an element (caller xmlFrees), "" when empty.
static char *s_text (xmlNodePtr n)
{
    xmlChar *t = xmlNodeGetContent (n);
    return (char *) (t ? t : xmlStrdup ((const xmlChar *) ""));
}

static bool s_has_elements (xmlNodePtr n)
{
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return true;
    return false;
}

char *wecom_xml_encrypt (const char *body, size_t len)
{
    xmlDocPtr doc = s_read (body, len);
    if (!doc)
        return NULL;
    char *out = NULL;
    xmlNodePtr root = xmlDocGetRootElement (doc);
    for (xmlNodePtr n = root ? root->children : NULL; n && !out; n = n->next)
        if (n->type == XML_ELEMENT_NODE && xmlStrcmp (n->name, (const xmlChar *) "Encrypt") == 0) {
            char *t = s_text (n);
            if (*t)
                out = qy_strdup (t);
            xmlFree (t);
        }
    xmlFreeDoc (doc);
    return out;
}

//  Elements WeCom sends as numbers.
static bool s_numeric (const xmlChar *name)
{
    static const char *names [] = { "CreateTime", "JoinScene", "QuitScene", "MemChangeCnt", "AgentID" };
    for (size_t i = 0; i < QY_ARRAY_LEN (names); i++)
        if (xmlStrcmp (name, (const xmlChar *) names [i]) == 0)
            return true;
    return false;
}

static json_t *s_value (xmlNodePtr n)
{
    if (s_has_elements (n)) {
        json_t *list = json_array ();
        for (xmlNodePtr c = n->children; c; c = c->next)
            if (c->type == XML_ELEMENT_NODE) {
                char *t = s_text (c);
                json_array_append_new (list, json_string (t));
                xmlFree (t);
            }
        return list;
    }
    char *t = s_text (n);
    json_t *v = NULL;
    if (s_numeric (n->name)) {
        char *end;
        long long x = strtoll (t, &end, 10);
        if (*t && !*end)
            v = json_integer (x);
    }
    if (!v)
        v = json_string (t);
    xmlFree (t);
    return v ? v : json_string ("");       //  not UTF-8: libxml2 refused it already
}

json_t *wecom_xml_event (const char *xml, size_t len, char *err, size_t errlen)
{
    xmlDocPtr doc = s_read (xml, len);
    if (!doc) {
        qy_snprintf (err, errlen, "not well-formed XML, or with a document type (WeCom sends none)");
        return NULL;
    }
    xmlNodePtr root = xmlDocGetRootElement (doc);
    if (!root || xmlStrcmp (root->name, (const xmlChar *) "xml") != 0) {
        qy_snprintf (err, errlen, "root element is not <xml>");
        xmlFreeDoc (doc);
        return NULL;
    }
    json_t *o = json_object ();
    for (xmlNodePtr n = root->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            json_object_set_new (o, (const char *) n->name, s_value (n));
    xmlFreeDoc (doc);
    return o;
}
